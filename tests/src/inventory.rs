//! The routes the server declares, read from its source (`crates/api/src`).
//!
//! actix-web keeps no list of its routes that a test could ask for, so this
//! reads them where they are written: route attributes (`#[get("/me")]`,
//! `#[actix_web::post(...)]`, `#[route("/x", method = "GET", method = "HEAD")]`),
//! `web::resource("/x")` / `Resource::new("/x")` with the methods of its chain
//! (`.route(web::get().to(h))`, `guard::Get()`), `.route("/x", web::post()...)`
//! registrations, `web::redirect(from, to)`, and `web::scope("/v1")` (or
//! `utoipa_actix_web::scope`) prefixes.
//!
//! The source is tokenised first (comments, strings, char literals and raw
//! strings are understood), so formatting does not matter: an attribute may
//! span lines, a commented-out route or one quoted in a doc comment is not a
//! route, and files may be moved or split anywhere under the scanned tree.
//! Items under `#[cfg(test)]` (a test module's own handlers) are skipped.
//!
//! ```no_run
//! let inventory = groundwork_tests::inventory::scan_dir(&groundwork_tests::inventory::api_source_dir());
//! for route in &inventory.routes {
//!     println!("{} {} ({})", route.method, route.path, route.location());
//! }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// The HTTP methods actix has route attributes and `web::` constructors for.
const METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "connect",
];

/// actix's method guards (`guard::Get()`), by method.
const GUARDS: &[(&str, &str)] = &[
    ("Get", "GET"),
    ("Post", "POST"),
    ("Put", "PUT"),
    ("Patch", "PATCH"),
    ("Delete", "DELETE"),
    ("Head", "HEAD"),
    ("Options", "OPTIONS"),
    ("Trace", "TRACE"),
    ("Connect", "CONNECT"),
];

/// What registers a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Declaration {
    /// `#[get("/x")]`, `#[route("/x", method = "GET")]` on a handler.
    Attribute,
    /// `web::resource("/x")` or `Resource::new("/x")`.
    Resource,
    /// `.route("/x", web::get().to(h))` on an app, scope or service config.
    Route,
    /// `web::redirect("/from", "/to")`.
    Redirect,
}

/// One route as its source declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredRoute {
    /// Upper case (`GET`), or `*` when nothing restricts the method.
    pub method: String,
    /// As written: relative to the scope it is registered in (`/me`, not `/v1/me`).
    pub path: String,
    /// The handler function, for an attribute.
    pub handler: Option<String>,
    /// What declares it.
    pub declaration: Declaration,
    /// The file, relative to the scanned directory.
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
}

impl DeclaredRoute {
    /// `routes/me.rs:118, fn get_me`, for messages.
    pub fn location(&self) -> String {
        match &self.handler {
            Some(handler) => format!("{}:{}, fn {handler}", self.file.display(), self.line),
            None => format!(
                "{}:{}, {:?}",
                self.file.display(),
                self.line,
                self.declaration
            ),
        }
    }
}

impl fmt::Display for DeclaredRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.location())
    }
}

/// A `web::scope("/prefix")` (or `Scope::new`) in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredScope {
    /// The prefix as written.
    pub prefix: String,
    /// The file, relative to the scanned directory.
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
}

/// Everything a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Routes in file order (files sorted by path).
    pub routes: Vec<DeclaredRoute>,
    /// Scopes in file order.
    pub scopes: Vec<DeclaredScope>,
    /// The `.rs` files read, relative to the scanned directory.
    pub files: Vec<PathBuf>,
}

/// `crates/api/src` of this workspace.
pub fn api_source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("crates")
        .join("api")
        .join("src")
}

/// Scans every `.rs` file under `dir`, recursively.
///
/// # Panics
/// When `dir` or a file in it cannot be read.
pub fn scan_dir(dir: &Path) -> Inventory {
    let mut files = Vec::new();
    collect_rust_files(dir, &mut files);
    files.sort();
    let mut inventory = Inventory::default();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let relative = file.strip_prefix(dir).unwrap_or(&file).to_path_buf();
        let found = scan_source(&text, &relative);
        inventory.routes.extend(found.routes);
        inventory.scopes.extend(found.scopes);
        inventory.files.push(relative);
    }
    inventory
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// Scans one file's text; `file` is only recorded.
pub fn scan_source(source: &str, file: &Path) -> Inventory {
    let tokens = tokenise(source);
    let mut scanner = Scanner {
        tokens: &tokens,
        file,
        found: Inventory::default(),
    };
    scanner.scan();
    scanner.found
}

// ---------------------------------------------------------------------------
// Tokens

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Ident(String),
    /// A string literal's content (escapes `\"` and `\\` undone).
    Str(String),
    Punct(char),
    /// A number, char literal or lifetime: nothing a route is made of.
    Other,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Rust tokens, coarsely: enough to find routes and never mistake a comment or
/// a string for code.
fn tokenise(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // The line breaks in chars[from..to].
    let lines_in = |from: usize, to: usize| {
        chars[from..to.min(chars.len())]
            .iter()
            .filter(|&&c| c == '\n')
            .count()
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let start_line = line;
        let kind = if c.is_whitespace() {
            i += 1;
            None
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            None
        } else if c == '/' && at(i + 1) == '*' {
            // Block comments nest.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            None
        } else if c == '"' {
            let (content, end) = quoted(&chars, i);
            i = end;
            Some(Kind::Str(content))
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // '\n', '\'', '\u{..}'
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                // 'x'
                i += 3;
            } else {
                // A lifetime or label: 'a, 'static.
                i += 1;
                while i < chars.len() && is_ident_continue(chars[i]) {
                    i += 1;
                }
            }
            Some(Kind::Other)
        } else if is_ident_start(c) {
            while i < chars.len() && is_ident_continue(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let hashes = (i..chars.len()).take_while(|&k| chars[k] == '#').count();
            if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                // b"..", c"..": escaped like any string.
                let (content, end) = quoted(&chars, i);
                i = end;
                Some(Kind::Str(content))
            } else if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                // r"..", r#".."#, br#".."#: no escapes, ends at `"` and as many `#`.
                let body = i + hashes + 1;
                let mut end = body;
                while end < chars.len()
                    && !(chars[end] == '"' && (1..=hashes).all(|k| at(end + k) == '#'))
                {
                    end += 1;
                }
                i = (end + 1 + hashes).min(chars.len());
                Some(Kind::Str(
                    chars[body..end.min(chars.len())].iter().collect(),
                ))
            } else if word == "r" && hashes == 1 && is_ident_start(at(i + 1)) {
                // A raw identifier: r#type.
                i += 1;
                let from = i;
                while i < chars.len() && is_ident_continue(chars[i]) {
                    i += 1;
                }
                Some(Kind::Ident(chars[from..i].iter().collect()))
            } else {
                Some(Kind::Ident(word))
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && is_ident_continue(chars[i]) {
                i += 1;
            }
            Some(Kind::Other)
        } else {
            i += 1;
            Some(Kind::Punct(c))
        };
        line += lines_in(start, i);
        if let Some(kind) = kind {
            tokens.push(Token {
                kind,
                line: start_line,
            });
        }
    }
    tokens
}

/// The content of the escaped string starting at `chars[open] == '"'`, and the
/// index after its closing quote.
fn quoted(chars: &[char], open: usize) -> (String, usize) {
    let mut content = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if let Some(&next) = chars.get(i + 1) {
                    match next {
                        '"' | '\\' | '\'' => content.push(next),
                        'n' => content.push('\n'),
                        't' => content.push('\t'),
                        // A line continuation, \u{..}, \x..: kept as written.
                        other => {
                            content.push('\\');
                            content.push(other);
                        }
                    }
                }
                i += 2;
            }
            '"' => return (content, i + 1),
            c => {
                content.push(c);
                i += 1;
            }
        }
    }
    (content, i)
}

// ---------------------------------------------------------------------------
// Declarations

struct Scanner<'a> {
    tokens: &'a [Token],
    file: &'a Path,
    found: Inventory,
}

impl Scanner<'_> {
    fn ident(&self, i: usize) -> Option<&str> {
        match self.tokens.get(i).map(|t| &t.kind) {
            Some(Kind::Ident(word)) => Some(word),
            _ => None,
        }
    }

    fn is_ident(&self, i: usize, word: &str) -> bool {
        self.ident(i) == Some(word)
    }

    fn is_punct(&self, i: usize, c: char) -> bool {
        matches!(self.tokens.get(i).map(|t| &t.kind), Some(Kind::Punct(p)) if *p == c)
    }

    fn string(&self, i: usize) -> Option<&str> {
        match self.tokens.get(i).map(|t| &t.kind) {
            Some(Kind::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn line(&self, i: usize) -> usize {
        self.tokens.get(i).map_or(0, |t| t.line)
    }

    /// Whether tokens `i..` are `::` (two `:` puncts).
    fn is_path_sep(&self, i: usize) -> bool {
        self.is_punct(i, ':') && self.is_punct(i + 1, ':')
    }

    /// The index of the delimiter closing the one at `open` (`(`, `[` or `{`),
    /// or the end.
    fn closing(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for i in open..self.tokens.len() {
            match self.tokens[i].kind {
                Kind::Punct('(' | '[' | '{') => depth += 1,
                Kind::Punct(')' | ']' | '}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return i;
                    }
                }
                _ => {}
            }
        }
        self.tokens.len()
    }

    /// `a::b::c` starting at `i`: the segments and the index after them.
    fn path_at(&self, mut i: usize) -> (Vec<String>, usize) {
        let mut segments = Vec::new();
        while let Some(word) = self.ident(i) {
            segments.push(word.to_owned());
            if self.is_path_sep(i + 1) && self.ident(i + 3).is_some() {
                i += 3;
            } else {
                i += 1;
                break;
            }
        }
        (segments, i)
    }

    fn push(
        &mut self,
        method: &str,
        path: &str,
        handler: Option<String>,
        kind: Declaration,
        i: usize,
    ) {
        self.found.routes.push(DeclaredRoute {
            method: method.to_owned(),
            path: without_patterns(path),
            handler,
            declaration: kind,
            file: self.file.to_path_buf(),
            line: self.line(i),
        });
    }

    fn scan(&mut self) {
        let mut i = 0;
        while i < self.tokens.len() {
            i = if self.is_punct(i, '#') && self.is_punct(i + 1, '[') {
                self.attribute(i)
            } else if let Some(next) = self.call(i) {
                next
            } else {
                i + 1
            };
        }
    }

    /// An outer attribute at `i` (`#[...]`); returns where to go on.
    fn attribute(&mut self, i: usize) -> usize {
        let close = self.closing(i + 1);
        let (path, after) = self.path_at(i + 2);
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        // `#[cfg(test)]`: the item it guards (a test module, a test-only
        // handler) is not part of the server.
        if names == ["cfg"]
            && self.is_punct(after, '(')
            && self.is_ident(after + 1, "test")
            && self.is_punct(after + 2, ')')
        {
            return self.skip_item(close + 1);
        }
        let name = match names.as_slice() {
            [name] | ["actix_web", name] => *name,
            _ => return close + 1,
        };
        if !self.is_punct(after, '(') {
            return close + 1;
        }
        let args_end = self.closing(after);
        let handler = self.handler_after(close + 1);
        if METHODS.contains(&name) {
            if let Some(path) = self.string(after + 1) {
                let path = path.to_owned();
                self.push(
                    &name.to_uppercase(),
                    &path,
                    handler,
                    Declaration::Attribute,
                    i,
                );
            }
        } else if name == "route"
            && let Some(path) = self.string(after + 1).map(str::to_owned)
        {
            // #[route("/x", method = "GET", method = "POST")]
            let mut methods = Vec::new();
            for k in after + 2..args_end {
                if self.is_ident(k, "method")
                    && self.is_punct(k + 1, '=')
                    && let Some(method) = self.string(k + 2)
                {
                    methods.push(method.to_uppercase());
                }
            }
            if methods.is_empty() {
                methods.push("*".to_owned());
            }
            for method in methods {
                self.push(&method, &path, handler.clone(), Declaration::Attribute, i);
            }
        }
        close + 1
    }

    /// The name of the function an attribute ending before `i` stands on.
    fn handler_after(&self, mut i: usize) -> Option<String> {
        while i < self.tokens.len() {
            if self.is_punct(i, '#') && self.is_punct(i + 1, '[') {
                i = self.closing(i + 1) + 1;
            } else if self.is_ident(i, "fn") {
                return self.ident(i + 1).map(str::to_owned);
            } else if self.is_punct(i, '{') || self.is_punct(i, ';') {
                return None;
            } else {
                i += 1;
            }
        }
        None
    }

    /// Skips the item starting at `i` (its attributes, then up to its `;` or
    /// the end of its first top-level block).
    fn skip_item(&self, mut i: usize) -> usize {
        while i < self.tokens.len() {
            if self.is_punct(i, '#') && self.is_punct(i + 1, '[') {
                i = self.closing(i + 1) + 1;
            } else if self.is_punct(i, ';') {
                return i + 1;
            } else if self.is_punct(i, '{') {
                return self.closing(i) + 1;
            } else if self.is_punct(i, '(') || self.is_punct(i, '[') {
                i = self.closing(i) + 1;
            } else {
                i += 1;
            }
        }
        i
    }

    /// A registration call at `i`: `web::resource(..)`, `Resource::new(..)`,
    /// `.route("..", ..)`, `web::redirect(..)`, `web::scope(..)`,
    /// `Scope::new(..)`. Returns where to go on, if it was one.
    fn call(&mut self, i: usize) -> Option<usize> {
        let word = self.ident(i)?;
        let callee = if self.is_path_sep(i + 1) {
            let function = self.ident(i + 3)?;
            match (word, function) {
                ("web", "resource") | ("Resource", "new") => "resource",
                // utoipa-actix-web's scope documents what it registers.
                ("web" | "utoipa_actix_web", "scope") | ("Scope", "new") => "scope",
                ("web", "redirect") => "redirect",
                _ => return None,
            }
        } else if word == "route" && i > 0 && self.is_punct(i - 1, '.') {
            "route"
        } else {
            return None;
        };
        let open = if callee == "route" { i + 1 } else { i + 4 };
        if !self.is_punct(open, '(') {
            return None;
        }
        let close = self.closing(open);
        // The path(s): a string, or an array of strings (`["/a", "/b"]`).
        let paths: Vec<String> = if self.is_punct(open + 1, '[') {
            (open + 2..self.closing(open + 1))
                .filter_map(|k| self.string(k).map(str::to_owned))
                .collect()
        } else {
            self.string(open + 1)
                .map(str::to_owned)
                .into_iter()
                .collect()
        };
        if paths.is_empty() {
            // `.route(web::get().to(h))` on a resource: read with the resource.
            return None;
        }
        match callee {
            "scope" => {
                for prefix in paths {
                    self.found.scopes.push(DeclaredScope {
                        prefix,
                        file: self.file.to_path_buf(),
                        line: self.line(i),
                    });
                }
                // Its registrations are read as the scan goes on.
                Some(open + 1)
            }
            "redirect" => {
                if let Some(from) = paths.first() {
                    self.push("*", from, None, Declaration::Redirect, i);
                }
                Some(close + 1)
            }
            "route" => {
                let methods = self.methods_in(open + 1, close);
                for path in &paths {
                    for method in &methods {
                        self.push(method, path, None, Declaration::Route, i);
                    }
                }
                Some(close + 1)
            }
            _ => {
                // The resource's chain: `.route(...)`, `.guard(...)`, `.to(...)`
                // up to the end of the expression it is part of.
                let mut end = close + 1;
                let mut depth = 0usize;
                while end < self.tokens.len() {
                    match self.tokens[end].kind {
                        Kind::Punct('(' | '[' | '{') => depth += 1,
                        Kind::Punct(')' | ']' | '}') if depth == 0 => break,
                        Kind::Punct(')' | ']' | '}') => depth -= 1,
                        Kind::Punct(';' | ',') if depth == 0 => break,
                        _ => {}
                    }
                    end += 1;
                }
                let methods = self.methods_in(close + 1, end);
                for path in &paths {
                    for method in &methods {
                        self.push(method, path, None, Declaration::Resource, i);
                    }
                }
                Some(close + 1)
            }
        }
    }

    /// The methods named in `tokens[from..to]` by `web::get()`, `guard::Get()`
    /// or `Method::GET`; `*` when none is.
    fn methods_in(&self, from: usize, to: usize) -> Vec<String> {
        let mut methods: Vec<String> = Vec::new();
        for k in from..to {
            if !self.is_path_sep(k + 1) {
                continue;
            }
            let (Some(owner), Some(name)) = (self.ident(k), self.ident(k + 3)) else {
                continue;
            };
            let method = match owner {
                "web" if METHODS.contains(&name) && self.is_punct(k + 4, '(') => {
                    Some(name.to_uppercase())
                }
                "guard" => GUARDS
                    .iter()
                    .find(|(guard, _)| *guard == name)
                    .map(|(_, method)| (*method).to_owned()),
                "Method" if METHODS.contains(&name.to_lowercase().as_str()) => {
                    Some(name.to_uppercase())
                }
                _ => None,
            };
            if let Some(method) = method
                && !methods.contains(&method)
            {
                methods.push(method);
            }
        }
        if methods.is_empty() {
            methods.push("*".to_owned());
        }
        methods
    }
}

/// A route path as OpenAPI writes it: `{jobId:job_[^/]*}` (a parameter with
/// actix's own pattern, which keeps `/jobs/claim` from matching `/jobs/{jobId}`)
/// is `{jobId}`.
fn without_patterns(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_pattern = false;
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '{' if !in_pattern && depth == 0 => {
                depth = 1;
                out.push(c);
            }
            ':' if depth == 1 && !in_pattern => in_pattern = true,
            '}' if depth == 1 => {
                depth = 0;
                in_pattern = false;
                out.push(c);
            }
            _ if in_pattern => {}
            _ => out.push(c),
        }
    }
    out
}
