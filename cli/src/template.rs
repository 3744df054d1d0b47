//! The scaffold's template language, deliberately tiny: `__NAME__`-style placeholders, and
//! whole-line conditions (`%if auth`, `%if auth|redis`, `%if !auth`, `%else`, `%end`,
//! nestable). Rust, YAML, SQL and GraphQL all use `{{ }}` or `{% %}` themselves (Hasura's
//! `{{RASURA_BASE_URL}}` among them), so a general template engine would need escaping in every
//! file; two rules need none.

use std::collections::{BTreeMap, BTreeSet};

/// What a template is rendered with.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `__KEY__` → value.
    pub values: BTreeMap<&'static str, String>,
    /// The flags `%if` tests.
    pub flags: BTreeSet<&'static str>,
}

/// A template error: a malformed condition (a bug in a template, caught by the tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Context {
    fn holds(&self, condition: &str) -> bool {
        match condition.strip_prefix('!') {
            Some(negated) => !self.holds(negated),
            None => condition
                .split('|')
                .any(|flag| self.flags.contains(flag.trim())),
        }
    }

    /// Renders `template` (named `name` in errors).
    pub fn render(&self, name: &str, template: &str) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(template.len());
        // One entry per open `%if`: (the enclosing lines are kept, this branch holds).
        let mut open: Vec<(bool, bool)> = Vec::new();
        let keeping =
            |open: &[(bool, bool)]| open.last().is_none_or(|&(outer, this)| outer && this);
        for (n, line) in template.split_inclusive('\n').enumerate() {
            let directive = line.trim_end();
            let at = || format!("{name}:{}", n + 1);
            if let Some(condition) = directive.strip_prefix("%if ") {
                let outer = keeping(&open);
                open.push((outer, self.holds(condition.trim())));
                continue;
            }
            match directive {
                "%else" => {
                    let Some(last) = open.last_mut() else {
                        return Err(TemplateError(format!("{}: %else outside %if", at())));
                    };
                    last.1 = !last.1;
                    continue;
                }
                "%end" => {
                    if open.pop().is_none() {
                        return Err(TemplateError(format!("{}: %end outside %if", at())));
                    }
                    continue;
                }
                _ => {}
            }
            if keeping(&open) {
                out.push_str(line);
            }
        }
        if !open.is_empty() {
            return Err(TemplateError(format!("{name}: %if without %end")));
        }
        for (key, value) in &self.values {
            out = out.replace(&format!("__{key}__"), value);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(flags: &[&'static str]) -> Context {
        Context {
            values: BTreeMap::from([("NAME", "shop".to_owned())]),
            flags: flags.iter().copied().collect(),
        }
    }

    #[test]
    fn conditions_keep_or_drop_whole_lines() {
        let t = "a __NAME__\n%if auth\nauth\n%else\nno auth\n%end\n%if !redis\nno redis\n%end\n%if redis|auth\neither\n%end\nz {{RASURA_BASE_URL}}\n";
        assert_eq!(
            context(&["auth"]).render("t", t).unwrap(),
            "a shop\nauth\nno redis\neither\nz {{RASURA_BASE_URL}}\n"
        );
        assert_eq!(
            context(&[]).render("t", t).unwrap(),
            "a shop\nno auth\nno redis\nz {{RASURA_BASE_URL}}\n"
        );
    }

    #[test]
    fn conditions_nest() {
        let t = "%if auth\n%if redis\nboth\n%else\nauth only\n%end\n%else\n%if redis\nredis only\n%end\n%end\n";
        assert_eq!(
            context(&["auth", "redis"]).render("t", t).unwrap(),
            "both\n"
        );
        assert_eq!(context(&["auth"]).render("t", t).unwrap(), "auth only\n");
        assert_eq!(context(&["redis"]).render("t", t).unwrap(), "redis only\n");
        assert_eq!(context(&[]).render("t", t).unwrap(), "");
    }

    #[test]
    fn malformed_conditions_are_errors() {
        for t in ["%if a\n%if b\n%end\n", "%else\n", "%end\n", "%if a\nx\n"] {
            assert!(context(&[]).render("t", t).is_err(), "{t}");
        }
    }
}
