//! Repairing a direct construction: `construct_with`.
//!
//! A zero-argument construction of a managed type becomes the rule's `construct_with`
//! expression (`x = RedisManager()` becomes `x = redis_manager`), and the name it needs is
//! imported from the canonical module once, after the file's leading imports. The canonical
//! module must define that name. A construction with arguments carries configuration the
//! shared manager does not take, so it is left for review, as is one the rule gives no
//! `construct_with` for, and one in a file where the name `fix` would import is already
//! bound to something else (by any binding: an assignment, `def`, parameter, import, ...).
//! So is every construction of a name that the file also uses other than as a call: an
//! `isinstance(x, RedisCacheManager)` would turn false once `x` is the shared manager.

use super::defined::ModuleIndex;
use super::graph;
use super::{Bindings, Facts, Use, edit, line_ending, line_of};
use crate::config::Rule;
use crate::violation::{Edit, Repair};

/// Where the file uses the callee's name other than as the callee of a call (an annotation,
/// `isinstance(x, C)`, a base class, `C.attr`, an assignment to it): replacing its
/// constructions by the shared object would change what those uses see.
fn other_use(callee: &Use, facts: &Facts) -> Option<usize> {
    let n = callee.chain.len();
    facts
        .uses
        .iter()
        .filter(|u| u.chain.len() >= n && u.chain[..n] == callee.chain[..])
        .find(|u| !(u.chain.len() == n && u.call.is_some()))
        .map(|u| usize::from(u.ranges[0].start()))
}

/// How `fix` would replace the construction `callee(..)` under `rule`.
pub(super) fn repair(
    fixing: Option<&ModuleIndex>,
    rule: &Rule,
    callee: &Use,
    bindings: &Bindings,
    facts: &Facts,
) -> Repair {
    let Some(index) = fixing else {
        return Repair::default();
    };
    let (Some(with), Some(canonical), Some(call)) =
        (&rule.construct_with, &rule.canonical, callee.call)
    else {
        return Repair::review(
            "the rule sets no `construct_with`, so fix has nothing to write instead",
        );
    };
    if call.has_args {
        return Repair::review(format!(
            "`{}(..)` passes arguments; `{}` takes none, so this needs a hand edit",
            callee.chain.join("."),
            with.expression
        ));
    }
    if let Some(at) = other_use(callee, facts) {
        let spelled = callee.chain.join(".");
        return Repair::review(format!(
            "`{spelled}` is also used other than as a call at line {} (an annotation, \
             `isinstance` or subclass would no longer match the shared manager), so fix leaves \
             its constructions too",
            line_of(facts.source, at)
        ));
    }
    if let Err(reason) = index.binding(canonical.segments(), &with.import) {
        return Repair::review(reason);
    }
    if let Some(&at) = facts.bound.get(with.import.as_str()) {
        return Repair::review(format!(
            "`{}` is already bound at line {} of this file, so writing `{}` here would not \
             mean the shared manager",
            with.import,
            line_of(facts.source, at),
            with.expression
        ));
    }
    let mut edits = vec![edit(call.range, with.expression.clone())];
    let mut wanted = canonical.segments().to_vec();
    wanted.push(with.import.clone());
    match bindings.get(&with.import) {
        Some(path) if path == wanted.as_slice() => {}
        Some(other) => {
            return Repair::review(format!(
                "`{}` already stands for `{}` in this file",
                with.import,
                other.join(".")
            ));
        }
        None => {
            if let Some(reason) = graph::cycle_reason(index, canonical.segments(), &facts.module) {
                return Repair::review(reason);
            }
            let start = usize::from(call.range.start());
            if start < facts.insert_at {
                return Repair::review(format!(
                    "the construction at line {} comes before the file's imports end",
                    line_of(facts.source, start)
                ));
            }
            let at = facts.insert_at;
            let eol = line_ending(facts.source);
            let newline = if at > 0 && facts.source.get(at - 1) != Some(&b'\n') {
                eol
            } else {
                ""
            };
            edits.push(Edit {
                start: at,
                end: at,
                text: format!(
                    "{newline}from {} import {}{eol}",
                    canonical.join("."),
                    with.import
                ),
            });
        }
    }
    Repair::edits(edits)
}
