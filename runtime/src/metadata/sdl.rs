//! A small reader of `actions.graphql` (GraphQL SDL) that keeps byte spans: the metadata export
//! turns action definitions into Hasura's JSON, and edits a Hasura CLI `actions.graphql` one
//! definition or field at a time, leaving every other byte (comments included) as it was.

use std::ops::Range;

/// A lexical token (comments and commas are skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Name,
    Number,
    Str,
    Punct(u8),
    Spread,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

/// An SDL syntax error, with its byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("actions.graphql: {message} (at byte {offset})")]
pub struct SdlError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub offset: usize,
}

fn tokenize(src: &str) -> Result<Vec<Token>, SdlError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    loop {
                        if i >= bytes.len() {
                            return Err(SdlError {
                                message: "unterminated block string".into(),
                                offset: start,
                            });
                        }
                        if bytes[i..].starts_with(b"\\\"\"\"") {
                            i += 4;
                        } else if bytes[i..].starts_with(b"\"\"\"") {
                            i += 3;
                            break;
                        } else {
                            i += 1;
                        }
                    }
                } else {
                    i += 1;
                    loop {
                        match bytes.get(i) {
                            None | Some(b'\n') => {
                                return Err(SdlError {
                                    message: "unterminated string".into(),
                                    offset: start,
                                });
                            }
                            Some(b'\\') => i += 2,
                            Some(b'"') => {
                                i += 1;
                                break;
                            }
                            Some(_) => i += 1,
                        }
                    }
                }
                tokens.push(Token {
                    tok: Tok::Str,
                    start,
                    end: i,
                });
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                i += 3;
                tokens.push(Token {
                    tok: Tok::Spread,
                    start,
                    end: i,
                });
            }
            b'{' | b'}' | b'(' | b')' | b'[' | b']' | b':' | b'!' | b'=' | b'@' | b'|' | b'&'
            | b'$' => {
                i += 1;
                tokens.push(Token {
                    tok: Tok::Punct(c),
                    start,
                    end: i,
                });
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
                tokens.push(Token {
                    tok: Tok::Number,
                    start,
                    end: i,
                });
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                tokens.push(Token {
                    tok: Tok::Name,
                    start,
                    end: i,
                });
            }
            _ => {
                return Err(SdlError {
                    message: format!(
                        "unexpected character `{}`",
                        src[i..].chars().next().unwrap_or('?')
                    ),
                    offset: start,
                });
            }
        }
    }
    Ok(tokens)
}

/// An argument or input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputValue {
    /// Its name.
    pub name: String,
    /// Its type, as written (`String!`, `[Int!]`).
    pub ty: String,
    /// Its description.
    pub description: Option<String>,
    /// Its default value's text.
    pub default: Option<String>,
}

/// A field of a type (for enums: a value, with an empty `ty`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its type, as written.
    pub ty: String,
    /// Its description.
    pub description: Option<String>,
    /// Its arguments.
    pub arguments: Vec<InputValue>,
    /// Its bytes in the source, description included.
    pub span: Range<usize>,
}

/// One top-level definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// `type`, `input`, `enum`, `scalar`, `interface`, `union`, `schema` or `directive`.
    pub keyword: String,
    /// `extend type …`.
    pub extend: bool,
    /// Its name (empty for `schema`).
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its fields, input fields or enum values.
    pub fields: Vec<Field>,
    /// Its bytes in the source, description included.
    pub span: Range<usize>,
    /// The bytes of its `{ … }` body, when it has one.
    pub body: Option<Range<usize>>,
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn text(&self, t: Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    fn error(&self, message: &str) -> SdlError {
        SdlError {
            message: message.into(),
            offset: self.peek().map_or(self.src.len(), |t| t.start),
        }
    }

    fn is_punct(&self, c: u8) -> bool {
        self.peek().is_some_and(|t| t.tok == Tok::Punct(c))
    }

    fn expect_punct(&mut self, c: u8) -> Result<Token, SdlError> {
        match self.peek() {
            Some(t) if t.tok == Tok::Punct(c) => {
                self.pos += 1;
                Ok(t)
            }
            _ => Err(self.error(&format!("expected `{}`", c as char))),
        }
    }

    fn name(&mut self) -> Result<(String, Token), SdlError> {
        match self.peek() {
            Some(t) if t.tok == Tok::Name => {
                self.pos += 1;
                Ok((self.text(t).to_owned(), t))
            }
            _ => Err(self.error("expected a name")),
        }
    }

    fn description(&mut self) -> Option<(String, usize)> {
        let t = self.peek().filter(|t| t.tok == Tok::Str)?;
        self.pos += 1;
        Some((string_value(self.text(t)), t.start))
    }

    /// `Type`, `[Type!]!`: returns the text without spaces and the last token's end.
    fn type_ref(&mut self) -> Result<(String, usize), SdlError> {
        let mut text = String::new();
        let mut depth = 0usize;
        let mut end;
        loop {
            let t = self.peek().ok_or_else(|| self.error("expected a type"))?;
            match t.tok {
                Tok::Punct(b'[') => depth += 1,
                Tok::Punct(b']') if depth > 0 => depth -= 1,
                Tok::Punct(b'!') => {}
                Tok::Name => {}
                _ => return Err(self.error("expected a type")),
            }
            text.push_str(self.text(t));
            end = t.end;
            self.pos += 1;
            let next_bang = self.is_punct(b'!');
            let next_close = self.is_punct(b']') && depth > 0;
            if !(next_bang || next_close) && (depth == 0 && t.tok != Tok::Punct(b'[')) {
                break;
            }
        }
        Ok((text, end))
    }

    /// Skips `@directive(args)` repetitions; returns the end of the last one.
    fn directives(&mut self) -> Result<Option<usize>, SdlError> {
        let mut end = None;
        while self.is_punct(b'@') {
            self.pos += 1;
            let (_, t) = self.name()?;
            end = Some(t.end);
            if self.is_punct(b'(') {
                end = Some(self.skip_group(b'(', b')')?);
            }
        }
        Ok(end)
    }

    /// Skips a balanced group starting at the current `open`; returns its end.
    fn skip_group(&mut self, open: u8, close: u8) -> Result<usize, SdlError> {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            self.pos += 1;
            if t.tok == Tok::Punct(open) {
                depth += 1;
            } else if t.tok == Tok::Punct(close) {
                depth -= 1;
                if depth == 0 {
                    return Ok(t.end);
                }
            }
        }
        Err(self.error(&format!("unclosed `{}`", open as char)))
    }

    /// A default value: one value, possibly a list or object.
    fn value(&mut self) -> Result<(String, usize), SdlError> {
        let t = self.peek().ok_or_else(|| self.error("expected a value"))?;
        let end = match t.tok {
            Tok::Punct(b'[') => self.skip_group(b'[', b']')?,
            Tok::Punct(b'{') => self.skip_group(b'{', b'}')?,
            Tok::Punct(b'$') => {
                self.pos += 1;
                self.name()?.1.end
            }
            Tok::Name | Tok::Number | Tok::Str => {
                self.pos += 1;
                t.end
            }
            _ => return Err(self.error("expected a value")),
        };
        Ok((self.src[t.start..end].to_owned(), end))
    }

    fn input_value(&mut self) -> Result<(InputValue, usize), SdlError> {
        let description = self.description().map(|(d, _)| d);
        let (name, _) = self.name()?;
        self.expect_punct(b':')?;
        let (ty, mut end) = self.type_ref()?;
        let mut default = None;
        if self.is_punct(b'=') {
            self.pos += 1;
            let (value, value_end) = self.value()?;
            default = Some(value);
            end = value_end;
        }
        if let Some(d) = self.directives()? {
            end = d;
        }
        Ok((
            InputValue {
                name,
                ty,
                description,
                default,
            },
            end,
        ))
    }

    fn field(&mut self, enum_value: bool, input: bool) -> Result<Field, SdlError> {
        let description = self.description();
        let (name, name_token) = self.name()?;
        let start = description.as_ref().map_or(name_token.start, |(_, s)| *s);
        let mut end = name_token.end;
        let mut arguments = Vec::new();
        let mut ty = String::new();
        if !enum_value {
            if self.is_punct(b'(') && !input {
                self.pos += 1;
                while !self.is_punct(b')') {
                    let (argument, _) = self.input_value()?;
                    arguments.push(argument);
                }
                self.expect_punct(b')')?;
            }
            self.expect_punct(b':')?;
            let (text, type_end) = self.type_ref()?;
            ty = text;
            end = type_end;
            if input && self.is_punct(b'=') {
                self.pos += 1;
                end = self.value()?.1;
            }
        }
        if let Some(d) = self.directives()? {
            end = d;
        }
        Ok(Field {
            name,
            ty,
            description: description.map(|(d, _)| d),
            arguments,
            span: start..end,
        })
    }

    fn definition(&mut self) -> Result<Definition, SdlError> {
        let description = self.description();
        let (mut keyword, first) = self.name()?;
        let start = description.as_ref().map_or(first.start, |(_, s)| *s);
        let extend = keyword == "extend";
        if extend {
            keyword = self.name()?.0;
        }
        let mut end;
        let mut name = String::new();
        match keyword.as_str() {
            "schema" => {
                end = self.directives()?.unwrap_or(first.end);
            }
            "directive" => {
                self.expect_punct(b'@')?;
                let (n, t) = self.name()?;
                name = n;
                end = t.end;
                if self.is_punct(b'(') {
                    end = self.skip_group(b'(', b')')?;
                }
                if let Some(t) = self.peek().filter(|t| self.text(*t) == "repeatable") {
                    end = t.end;
                    self.pos += 1;
                }
                if self.peek().is_some_and(|t| self.text(t) == "on") {
                    self.pos += 1;
                    if self.is_punct(b'|') {
                        self.pos += 1;
                    }
                    loop {
                        end = self.name()?.1.end;
                        if !self.is_punct(b'|') {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                return Ok(Definition {
                    keyword,
                    extend,
                    name,
                    description: description.map(|(d, _)| d),
                    fields: Vec::new(),
                    span: start..end,
                    body: None,
                });
            }
            "type" | "input" | "enum" | "scalar" | "interface" | "union" => {
                let (n, t) = self.name()?;
                name = n;
                end = t.end;
                if self.peek().is_some_and(|t| self.text(t) == "implements") {
                    self.pos += 1;
                    while self
                        .peek()
                        .is_some_and(|t| t.tok == Tok::Name || t.tok == Tok::Punct(b'&'))
                        && !self.is_body_or_next_definition()
                    {
                        end = self.peek().map_or(end, |t| t.end);
                        self.pos += 1;
                    }
                }
                if let Some(d) = self.directives()? {
                    end = d;
                }
                if keyword == "union" && self.is_punct(b'=') {
                    self.pos += 1;
                    loop {
                        if self.is_punct(b'|') {
                            self.pos += 1;
                        }
                        let (_, t) = self.name()?;
                        end = t.end;
                        if !self.is_punct(b'|') {
                            break;
                        }
                    }
                }
            }
            other => {
                return Err(SdlError {
                    message: format!("unexpected `{other}` at the top level"),
                    offset: first.start,
                });
            }
        }
        let mut fields = Vec::new();
        let mut body = None;
        if self.is_punct(b'{') {
            let open = self.expect_punct(b'{')?;
            let enum_values = keyword == "enum";
            let input = keyword == "input";
            while !self.is_punct(b'}') {
                if self.peek().is_none() {
                    return Err(self.error("unclosed `{`"));
                }
                fields.push(self.field(enum_values, input)?);
            }
            let close = self.expect_punct(b'}')?;
            end = close.end;
            body = Some(open.start..close.end);
        }
        Ok(Definition {
            keyword,
            extend,
            name,
            description: description.map(|(d, _)| d),
            fields,
            span: start..end,
            body,
        })
    }

    fn is_body_or_next_definition(&self) -> bool {
        self.peek().is_some_and(|t| {
            t.tok == Tok::Punct(b'{')
                || t.tok == Tok::Punct(b'@')
                || (t.tok == Tok::Name
                    && matches!(
                        self.text(t),
                        "type"
                            | "input"
                            | "enum"
                            | "scalar"
                            | "interface"
                            | "union"
                            | "extend"
                            | "schema"
                            | "directive"
                    ))
        })
    }
}

/// Reads every top-level definition of `src`.
pub fn parse(src: &str) -> Result<Vec<Definition>, SdlError> {
    let mut parser = Parser {
        src,
        tokens: tokenize(src)?,
        pos: 0,
    };
    let mut definitions = Vec::new();
    while parser.peek().is_some() {
        definitions.push(parser.definition()?);
    }
    Ok(definitions)
}

/// The value of a string token (quotes removed, escapes and block-string indentation
/// resolved).
fn string_value(token: &str) -> String {
    if let Some(inner) = token
        .strip_prefix("\"\"\"")
        .and_then(|s| s.strip_suffix("\"\"\""))
    {
        let inner = inner.replace("\\\"\"\"", "\"\"\"");
        let lines: Vec<&str> = inner.lines().collect();
        let indent = lines
            .iter()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let mut out: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    (*l).to_owned()
                } else {
                    l.get(indent..).unwrap_or("").to_owned()
                }
            })
            .collect();
        while out.first().is_some_and(|l| l.trim().is_empty()) {
            out.remove(0);
        }
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        return out.join("\n");
    }
    let inner = &token[1..token.len().saturating_sub(1)];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// `text` with runs of whitespace and commas collapsed, and `#` comments removed, for comparing
/// definitions regardless of layout.
pub fn normalized(text: &str) -> String {
    match tokenize(text) {
        Ok(tokens) => tokens
            .iter()
            .map(|t| &text[t.start..t.end])
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"# Hand-written comment
type Query {
  ping: PingOutput!
}

"""
Mutations
"""
type Mutation {
  "echo" pong(message: String! = "x", number: Int!): PongOutput! @deprecated(reason: "r")
  other(a: [Int!]! = [1, 2], b: In = {x: {y: 1}}): [Out]
}

input In { x: X = {a: 1} y: [String!] }
enum Role { "the boss" admin user @deprecated }
scalar Json @specifiedBy(url: "u")
union U = | A | B
extend type Query { more: Int }
directive @cached(ttl: Int = 60) repeatable on QUERY | FIELD
"#;

    #[test]
    fn reads_definitions_and_spans() {
        let defs = parse(SRC).unwrap();
        let names: Vec<(&str, &str)> = defs
            .iter()
            .map(|d| (d.keyword.as_str(), d.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("type", "Query"),
                ("type", "Mutation"),
                ("input", "In"),
                ("enum", "Role"),
                ("scalar", "Json"),
                ("union", "U"),
                ("type", "Query"),
                ("directive", "cached"),
            ]
        );
        let mutation = &defs[1];
        assert_eq!(mutation.description.as_deref(), Some("Mutations"));
        assert!(SRC[mutation.span.clone()].starts_with("\"\"\"\nMutations"));
        assert!(SRC[mutation.span.clone()].ends_with('}'));
        let pong = &mutation.fields[0];
        assert_eq!(pong.name, "pong");
        assert_eq!(pong.ty, "PongOutput!");
        assert_eq!(pong.description.as_deref(), Some("echo"));
        assert_eq!(
            &SRC[pong.span.clone()],
            r#""echo" pong(message: String! = "x", number: Int!): PongOutput! @deprecated(reason: "r")"#
        );
        assert_eq!(pong.arguments[0].default.as_deref(), Some("\"x\""));
        assert_eq!(mutation.fields[1].ty, "[Out]");
        assert_eq!(mutation.fields[1].arguments[0].ty, "[Int!]!");
        assert_eq!(defs[2].fields.len(), 2);
        assert_eq!(defs[2].fields[1].ty, "[String!]");
        assert_eq!(defs[3].fields[0].description.as_deref(), Some("the boss"));
        assert_eq!(defs[3].fields[1].name, "user");
        assert_eq!(
            &SRC[defs[4].span.clone()],
            r#"scalar Json @specifiedBy(url: "u")"#
        );
        assert_eq!(&SRC[defs[5].span.clone()], "union U = | A | B");
        assert!(defs[6].extend);
        assert!(SRC[defs[7].span.clone()].ends_with("QUERY | FIELD"));
    }

    #[test]
    fn errors_have_offsets() {
        let err = parse("type Q { a: }").unwrap_err();
        assert_eq!(err.offset, 12);
        assert!(parse("type Q { a: Int").is_err());
        assert!(parse("\"unterminated").is_err());
        assert!(parse("query { a }").is_err());
    }

    #[test]
    fn normalizes_layout() {
        assert_eq!(
            normalized("type A {\n  a: Int # c\n  b: [String!]!\n}"),
            normalized("type A { a: Int, b: [ String! ]! }")
        );
    }
}
