//! Deprecated names: `deprecated_names = [{ module, name, replacement }]`.
//!
//! A compatibility alias such as `auth_redis_manager` in the canonical module is reported
//! wherever it is imported (`from m import auth_redis_manager`) or reached through a module
//! (`rm.auth_redis_manager`). The repair renames it to its replacement, which must be defined
//! by the same module; an imported alias is renamed at each use too. Both names stand for the
//! same object, so every use can be renamed.

use ruff_python_ast::Stmt;

use super::{Bindings, Facts, edit, imports};
use crate::analysis::FileContext;
use crate::violation::Repair;

/// Reports (and, when fixing, repairs) the deprecated names a file uses.
pub(super) fn check(ctx: &mut FileContext, facts: &Facts, bindings: &Bindings, package: &[String]) {
    let names: Vec<&str> = ctx
        .rules
        .iter()
        .flat_map(|r| r.deprecated_names.iter().map(|d| d.name.as_str()))
        .collect();
    if names.is_empty() {
        return;
    }
    for stmt in &facts.imports {
        let Stmt::ImportFrom(f) = stmt else {
            continue;
        };
        if !f.names.iter().any(|a| names.contains(&a.name.as_str())) {
            continue;
        }
        let Some(module) = imports::from_module(f, package) else {
            continue;
        };
        for alias in &f.names {
            let name = alias.name.as_str();
            for (rule, d) in ctx.deprecated_name(&module, name) {
                let repair = match ctx.fixing.map(|i| i.binding(&module, &d.replacement)) {
                    None => Repair::default(),
                    Some(Err(reason)) => Repair::review(reason),
                    Some(Ok(_)) => {
                        let mut edits = vec![edit(alias.name.range, d.replacement.clone())];
                        if alias.asname.is_none() {
                            edits.extend(
                                facts
                                    .uses
                                    .iter()
                                    .filter(|u| u.chain[0] == name)
                                    .map(|u| edit(u.ranges[0], d.replacement.clone())),
                            );
                        }
                        Repair::edits(edits)
                    }
                };
                let offset = usize::from(alias.name.range.start());
                ctx.deprecated_name_use(rule, d, offset, repair);
            }
        }
    }
    for u in &facts.uses {
        for k in 1..u.chain.len() {
            if !names.contains(&u.chain[k]) {
                continue;
            }
            let Some(resolved) = bindings.resolve(&u.chain[..=k]) else {
                continue;
            };
            let Some((name, module)) = resolved.split_last() else {
                continue;
            };
            for (rule, d) in ctx.deprecated_name(module, name) {
                let repair = match ctx.fixing.map(|i| i.binding(module, &d.replacement)) {
                    None => Repair::default(),
                    Some(Err(reason)) => Repair::review(reason),
                    Some(Ok(_)) => Repair::edits(vec![edit(u.ranges[k], d.replacement.clone())]),
                };
                let offset = usize::from(u.ranges[k].start());
                ctx.deprecated_name_use(rule, d, offset, repair);
            }
        }
    }
}
