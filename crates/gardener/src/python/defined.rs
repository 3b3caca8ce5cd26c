//! What a Python module defines, for `fix`'s check before it rewrites an import.
//!
//! A name counts as defined when the module binds it at the top level: a `def`, a `class`, an
//! assignment (also inside top-level `if`, `try`, `with` and loops, where modules put their
//! fallbacks), an import, or an entry of a literal `__all__`. The kind of binding decides how
//! `fix` may rewrite a use: a name replaced by one of the same kind is renamed everywhere; a
//! class replaced by a value (`redis_manager = RedisManager()`) has its zero-argument calls
//! replaced whole, by a function (`def get_redis_manager()`) has them renamed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ruff_python_ast::{Expr, ModModule, PySourceType, Stmt};

use crate::modules::find_module;

/// How a module binds a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// A `class`.
    Class,
    /// A `def`.
    Function,
    /// An assignment: an object, not something to call.
    Value,
    /// An import or an `__all__` entry: defined, of unknown kind.
    Other,
}

/// The top-level names of one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defined {
    names: HashMap<String, Binding>,
}

impl Defined {
    /// How `name` is bound, if it is.
    pub fn get(&self, name: &str) -> Option<Binding> {
        self.names.get(name).copied()
    }

    /// Reads the top-level bindings of a parsed module.
    pub fn of(module: &ModModule) -> Self {
        let mut defined = Defined::default();
        defined.body(&module.body);
        defined
    }

    /// Parses `text` and reads its top-level bindings (what parses, if it has errors).
    pub fn parse(text: &str) -> Self {
        let parsed = ruff_python_parser::parse_unchecked_source(text, PySourceType::Python);
        Defined::of(parsed.syntax())
    }

    fn bind(&mut self, name: &str, binding: Binding) {
        // The first kind seen wins: a fallback `except ImportError: x = None` must not turn
        // the `def x` above it into a value.
        self.names.entry(name.to_owned()).or_insert(binding);
    }

    fn target(&mut self, target: &Expr) {
        match target {
            Expr::Name(n) => self.bind(n.id.as_str(), Binding::Value),
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.target(e)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.target(e)),
            Expr::Starred(s) => self.target(&s.value),
            _ => {}
        }
    }

    fn all(&mut self, value: &Expr) {
        let elts = match value {
            Expr::List(l) => &l.elts,
            Expr::Tuple(t) => &t.elts,
            _ => return,
        };
        for e in elts {
            if let Expr::StringLiteral(s) = e {
                self.bind(s.value.to_str(), Binding::Other);
            }
        }
    }

    fn body(&mut self, body: &[Stmt]) {
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(f) => self.bind(f.name.as_str(), Binding::Function),
                Stmt::ClassDef(c) => self.bind(c.name.as_str(), Binding::Class),
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        if matches!(t, Expr::Name(n) if n.id.as_str() == "__all__") {
                            self.all(&a.value);
                        }
                        self.target(t);
                    }
                }
                Stmt::AnnAssign(a) if a.value.is_some() => self.target(&a.target),
                Stmt::AugAssign(a) => {
                    if matches!(&*a.target, Expr::Name(n) if n.id.as_str() == "__all__") {
                        self.all(&a.value);
                    }
                }
                Stmt::Import(i) => {
                    for alias in &i.names {
                        let local = alias.asname.as_ref().map_or_else(
                            || alias.name.as_str().split('.').next().unwrap_or(""),
                            |a| a.as_str(),
                        );
                        self.bind(local, Binding::Other);
                    }
                }
                Stmt::ImportFrom(i) => {
                    for alias in &i.names {
                        let local = alias.asname.as_ref().unwrap_or(&alias.name);
                        if local.as_str() != "*" {
                            self.bind(local.as_str(), Binding::Other);
                        }
                    }
                }
                Stmt::If(s) => {
                    self.body(&s.body);
                    for clause in &s.elif_else_clauses {
                        self.body(&clause.body);
                    }
                }
                Stmt::Try(t) => {
                    self.body(&t.body);
                    for h in &t.handlers {
                        let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                        self.body(&h.body);
                    }
                    self.body(&t.orelse);
                    self.body(&t.finalbody);
                }
                Stmt::With(w) => self.body(&w.body),
                Stmt::For(f) => {
                    self.target(&f.target);
                    self.body(&f.body);
                    self.body(&f.orelse);
                }
                Stmt::While(w) => {
                    self.body(&w.body);
                    self.body(&w.orelse);
                }
                _ => {}
            }
        }
    }
}

/// The names a module lists in a literal `__all__` (assigned or extended at its top level).
pub fn exported(module: &ModModule) -> Vec<String> {
    let mut names = Vec::new();
    for stmt in &module.body {
        let (target, value) = match stmt {
            Stmt::Assign(a) if a.targets.len() == 1 => (&a.targets[0], &*a.value),
            Stmt::AugAssign(a) => (&*a.target, &*a.value),
            Stmt::AnnAssign(a) => match &a.value {
                Some(v) => (&*a.target, &**v),
                None => continue,
            },
            _ => continue,
        };
        if !matches!(target, Expr::Name(n) if n.id.as_str() == "__all__") {
            continue;
        }
        let elts = match value {
            Expr::List(l) => &l.elts,
            Expr::Tuple(t) => &t.elts,
            _ => continue,
        };
        for e in elts {
            if let Expr::StringLiteral(s) = e {
                names.push(s.value.to_str().to_owned());
            }
        }
    }
    names
}

/// What a replacement module offers: its names, or that it could not be found.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// The module's file was found and read.
    Found(Arc<Defined>),
    /// No file for the module under any root.
    Missing,
}

/// Finds and reads replacement modules once each, shared by the threads of a fix.
#[derive(Debug)]
pub struct ModuleIndex {
    roots: Vec<PathBuf>,
    cache: Mutex<HashMap<Vec<String>, Lookup>>,
    /// The project modules each module imports when it runs (see [`super::graph`]).
    imports: Mutex<HashMap<Vec<String>, Edges>>,
}

/// The modules one module imports, shared from the cache.
type Edges = Arc<Vec<Vec<String>>>;

impl ModuleIndex {
    /// An index that looks modules up under `roots`, in order.
    pub fn new(roots: Vec<PathBuf>) -> Self {
        ModuleIndex {
            roots,
            cache: Mutex::new(HashMap::new()),
            imports: Mutex::new(HashMap::new()),
        }
    }

    /// The modules under the roots that `module` imports when it runs: the edges of the
    /// import graph (empty for a module outside the roots).
    pub fn imports_of(&self, module: &[String]) -> Arc<Vec<Vec<String>>> {
        if let Some(found) = self
            .imports
            .lock()
            .ok()
            .and_then(|c| c.get(module).cloned())
        {
            return found;
        }
        let mut edges: Vec<Vec<String>> = Vec::new();
        if let Some(path) = find_module(&self.roots, module)
            && let Some(text) = read_source(&path)
        {
            let is_package = path
                .file_stem()
                .is_some_and(|s| s.to_string_lossy() == "__init__");
            let package = if is_package {
                module.to_vec()
            } else {
                module[..module.len().saturating_sub(1)].to_vec()
            };
            let parsed = ruff_python_parser::parse_unchecked_source(&text, PySourceType::Python);
            for (from, names) in super::graph::imported_modules(&parsed.syntax().body, &package) {
                for name in names {
                    let mut sub = from.clone();
                    sub.push(name);
                    if find_module(&self.roots, &sub).is_some() && !edges.contains(&sub) {
                        edges.push(sub);
                    }
                }
                if find_module(&self.roots, &from).is_some() && !edges.contains(&from) {
                    edges.push(from);
                }
            }
        }
        let edges = Arc::new(edges);
        if let Ok(mut cache) = self.imports.lock() {
            cache.insert(module.to_vec(), edges.clone());
        }
        edges
    }

    /// The names `module` defines.
    pub fn lookup(&self, module: &[String]) -> Lookup {
        if let Some(found) = self.cache.lock().ok().and_then(|c| c.get(module).cloned()) {
            return found;
        }
        let found = match find_module(&self.roots, module).and_then(|path| read_source(&path)) {
            Some(text) => Lookup::Found(Arc::new(Defined::parse(&text))),
            None => Lookup::Missing,
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(module.to_vec(), found.clone());
        }
        found
    }

    /// Whether `module.name` is a module of its own (a submodule file or package).
    pub fn is_submodule(&self, module: &[String], name: &str) -> bool {
        let mut full = module.to_vec();
        full.push(name.to_owned());
        find_module(&self.roots, &full).is_some()
    }

    /// How `module` binds `name` (a submodule counts as [`Binding::Other`]); `Err` with the
    /// reason when that cannot be known or the name is not there.
    pub fn binding(&self, module: &[String], name: &str) -> Result<Binding, String> {
        let shown = module.join(".");
        match self.lookup(module) {
            Lookup::Missing => Err(format!(
                "the replacement module `{shown}` was not found under the source roots, so \
                 fix cannot check that it defines `{name}`"
            )),
            Lookup::Found(defined) => match defined.get(name) {
                Some(b) => Ok(b),
                None if self.is_submodule(module, name) => Ok(Binding::Other),
                None => Err(format!("`{shown}` does not define `{name}`")),
            },
        }
    }
}

/// A module's text, decoded as Python would (UTF-8 or its PEP 263 declaration).
fn read_source(path: &std::path::Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    crate::encoding::decode(&bytes)
        .ok()
        .map(|s| s.text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_defs_classes_assignments_imports_and_all_are_defined() {
        let d = Defined::parse(
            "import os.path\nfrom x import y as z\n__all__ = ['exported']\n\
             class RedisManager: pass\nredis_manager = RedisManager()\n\
             def get_redis_manager():\n    inner = 1\n    return redis_manager\n\
             try:\n    import fast\nexcept ImportError:\n    fast = None\n",
        );
        assert_eq!(d.get("RedisManager"), Some(Binding::Class));
        assert_eq!(d.get("get_redis_manager"), Some(Binding::Function));
        assert_eq!(d.get("redis_manager"), Some(Binding::Value));
        assert_eq!(d.get("os"), Some(Binding::Other));
        assert_eq!(d.get("z"), Some(Binding::Other));
        assert_eq!(d.get("exported"), Some(Binding::Other));
        assert_eq!(d.get("fast"), Some(Binding::Other));
        assert_eq!(d.get("inner"), None);
        assert_eq!(d.get("y"), None);
    }
}
