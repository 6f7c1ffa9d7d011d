//! One source file as the check reads it: parsed with `syn`, test items (`#[cfg(test)]`) left
//! out; its function definitions and, for each of their bodies and for the file as a whole, what
//! the code names: the functions it calls or passes, the module paths, the method calls.
//!
//! Macro arguments are code too (`tokio::join!(store.read(), ...)`, `format!("{}", f(x))`): they
//! are read as expressions where they parse as such, part by part where a macro has syntax of its
//! own (tracing's `code = %code`, `json!`'s objects, maud's `html!`), and token by token for what
//! is left, so a call inside a macro is still a call.

use std::collections::BTreeSet;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Expr, Token};

/// One source file: its functions, what the file names as a whole, and its trait impls.
pub(super) struct Source {
    /// Everything outside test items, as one body: what an entry file reaches (`main` and
    /// whatever else the file names).
    pub(super) whole: Body,
    /// Every function with a body (free, associated, a trait's default, nested).
    pub(super) definitions: Vec<Definition>,
    /// `impl Trait for Type { ... }`, with the string constants it defines.
    pub(super) impls: Vec<TraitImpl>,
    /// The private modules it declares in files of their own (`mod links;`), as paths from this
    /// module (`mod a { mod b; }` gives `a::b`): parts of it, which may hold its types' methods.
    pub(super) modules: Vec<Vec<String>>,
    /// The module paths it names outside test items, which tell which files it sees:
    /// `use a::b::{c, d}` gives `a::b`, `a::b::c` and `a::b::d`; `x::y::f(...)` gives `x::y::f`.
    pub(super) paths: BTreeSet<Vec<String>>,
}

/// A function definition: its name and what its body names.
pub(super) struct Definition {
    pub(super) name: String,
    pub(super) body: Body,
}

/// What a piece of code names, in the order it is written.
#[derive(Default)]
pub(super) struct Body {
    /// The functions it calls (`f(`, `a::f(`, `f::<T>(`, `.f(`) or passes as an argument
    /// (`serve(app, handler)`, `.map(parse)`).
    pub(super) references: Vec<Reference>,
    /// The methods it calls, with what the AWS calls are told by.
    pub(super) methods: Vec<MethodCall>,
    /// The paths it calls without arguments: `Put::builder()` gives `Put::builder`.
    pub(super) bare_calls: Vec<Vec<String>>,
    /// String literals given a name: a struct field's (`signing_name: "lambda"`) or a
    /// constant's (`const NAME: &str = "ListThings"`).
    pub(super) named_strings: Vec<(String, String)>,
    /// Every identifier.
    pub(super) idents: BTreeSet<String>,
}

/// A function named by the code; `method` when it is called as one (`x.name(`), whose receiver's
/// type the check does not know.
pub(super) struct Reference {
    pub(super) name: String,
    pub(super) method: bool,
}

/// `.name(args)`.
pub(super) struct MethodCall {
    pub(super) name: String,
    /// Called without arguments (`.get_item()`).
    pub(super) bare: bool,
    /// The method called on its result: `table_name` in `.get_item().table_name(..)`.
    pub(super) then: Option<String>,
    /// Its first argument, when a string literal (`.call("GetSecretValue", ..)`).
    pub(super) literal: Option<String>,
}

/// `impl Trait for Type { const K: &str = "v"; ... }`: its trait's and type's last names and its
/// string constants.
pub(super) struct TraitImpl {
    pub(super) trait_name: String,
    pub(super) type_name: String,
    pub(super) strings: Vec<(String, String)>,
}

impl Source {
    pub(super) fn parse(text: &str) -> syn::Result<Self> {
        let file = syn::parse_file(text)?;
        let mut reader = Reader {
            open: vec![Body::default()],
            then: None,
            definitions: Vec::new(),
            impls: Vec::new(),
            inline: Vec::new(),
            modules: Vec::new(),
            paths: BTreeSet::new(),
        };
        reader.visit_file(&file);
        Ok(Self {
            whole: reader.open.pop().unwrap_or_default(),
            definitions: reader.definitions,
            impls: reader.impls,
            modules: reader.modules,
            paths: reader.paths,
        })
    }
}

/// Walks one file, noting what it finds in every body open around it: what a nested function
/// names, its parent names too, and the file names everything.
struct Reader {
    /// The bodies being read, the whole file's first.
    open: Vec<Body>,
    /// The method called on the result of the method call about to be read.
    then: Option<String>,
    definitions: Vec<Definition>,
    impls: Vec<TraitImpl>,
    /// The inline modules (`mod a { ... }`) being read.
    inline: Vec<String>,
    modules: Vec<Vec<String>>,
    paths: BTreeSet<Vec<String>>,
}

impl Reader {
    fn note(&mut self, f: impl Fn(&mut Body)) {
        for body in &mut self.open {
            f(body);
        }
    }

    fn reference(&mut self, name: String, method: bool) {
        self.note(|b| {
            b.references.push(Reference {
                name: name.clone(),
                method,
            });
        });
    }

    /// A path expression given as an argument is a function passed, if one has its name.
    fn passed(&mut self, arg: &Expr) {
        if let Expr::Path(p) = arg
            && let Some(last) = p.path.segments.last()
        {
            self.reference(last.ident.to_string(), false);
        }
    }

    fn define(&mut self, name: &syn::Ident, block: &syn::Block) {
        self.open.push(Body::default());
        self.visit_block(block);
        if let Some(body) = self.open.pop() {
            self.definitions.push(Definition {
                name: name.to_string(),
                body,
            });
        }
    }

    fn arguments<'a>(&mut self, args: impl IntoIterator<Item = &'a Expr>) {
        for arg in args {
            self.passed(arg);
            self.visit_expr(arg);
        }
    }

    /// A macro's arguments: as expressions, else as statements, else part by part.
    fn macro_tokens(&mut self, tokens: TokenStream) {
        if let Ok(exprs) = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens.clone()) {
            self.arguments(&exprs);
        } else if let Ok(stmts) = syn::Block::parse_within.parse2(tokens.clone()) {
            for stmt in &stmts {
                self.visit_stmt(stmt);
            }
        } else {
            for part in split_commas(tokens) {
                match syn::parse2::<Expr>(unlabelled(&part)) {
                    Ok(expr) => self.arguments([&expr]),
                    Err(_) => self.scan(part),
                }
            }
        }
    }

    /// Tokens that are not Rust as a whole: a name followed by `(...)` is a call, `a::b` a path,
    /// and each group is read again as macro arguments.
    fn scan(&mut self, tokens: Vec<TokenTree>) {
        let punct = |at: Option<&TokenTree>, c: char| matches!(at, Some(TokenTree::Punct(p)) if p.as_char() == c);
        for (i, tree) in tokens.iter().enumerate() {
            match tree {
                TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    self.note(|b| {
                        b.idents.insert(name.clone());
                    });
                    if matches!(tokens.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
                    {
                        let method = i > 0 && punct(tokens.get(i - 1), '.');
                        self.reference(name.clone(), method);
                    }
                    if i > 0 && punct(tokens.get(i - 1), ':') {
                        continue;
                    }
                    let mut path = vec![name];
                    let mut at = i + 1;
                    while punct(tokens.get(at), ':')
                        && punct(tokens.get(at + 1), ':')
                        && let Some(TokenTree::Ident(next)) = tokens.get(at + 2)
                    {
                        path.push(next.to_string());
                        at += 3;
                    }
                    if path.len() > 1 {
                        self.paths.insert(path);
                    }
                }
                TokenTree::Group(group) => self.macro_tokens(group.stream()),
                TokenTree::Punct(_) | TokenTree::Literal(_) => {}
            }
        }
    }
}

/// `tokens` split at their top-level commas.
fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut parts = Vec::new();
    let mut part = Vec::new();
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(std::mem::take(&mut part)),
            _ => part.push(tree),
        }
    }
    parts.push(part);
    parts.retain(|part| !part.is_empty());
    parts
}

/// A macro argument without the name or sigil some macros put before the expression: tracing's
/// `code = %code`, `error = ?e`, `format!`'s `width = w`.
fn unlabelled(part: &[TokenTree]) -> TokenStream {
    let is = |tree: &TokenTree, c: char| matches!(tree, TokenTree::Punct(p) if p.as_char() == c);
    let mut rest = part;
    // `name =` or `a.b =`, not `==`.
    if let Some(eq) = rest.iter().position(|t| is(t, '=')) {
        let before_is_a_name = rest[..eq]
            .iter()
            .all(|t| matches!(t, TokenTree::Ident(_)) || is(t, '.'));
        let single =
            !matches!(&rest[eq], TokenTree::Punct(p) if p.spacing() == proc_macro2::Spacing::Joint);
        if eq > 0 && before_is_a_name && single {
            rest = &rest[eq + 1..];
        }
    }
    if let Some(first) = rest.first()
        && (is(first, '%') || is(first, '?'))
    {
        rest = &rest[1..];
    }
    rest.iter().cloned().collect()
}

/// `#[cfg(test)]`: what only tests compile is not what a function can call.
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

/// `use a::b::{c, d::e}`: `a::b`, `a::b::c`, `a::b::d::e` (a group's prefix and each leaf).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => out.push([prefix.as_slice(), &[n.ident.to_string()]].concat()),
        syn::UseTree::Rename(r) => out.push([prefix.as_slice(), &[r.ident.to_string()]].concat()),
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            out.push(prefix.clone());
            for item in &g.items {
                use_paths(item, prefix, out);
            }
        }
    }
}

fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

fn last_name(path: &syn::Path) -> Option<String> {
    path.segments.last().map(|s| s.ident.to_string())
}

impl<'ast> Visit<'ast> for Reader {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            _ => &[],
        };
        if !is_test(attrs) {
            visit::visit_item(self, item);
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let test = match item {
            syn::ImplItem::Fn(f) => is_test(&f.attrs),
            syn::ImplItem::Const(c) => is_test(&c.attrs),
            _ => false,
        };
        if !test {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        for attr in &f.attrs {
            self.visit_attribute(attr);
        }
        self.visit_signature(&f.sig);
        self.define(&f.sig.ident, &f.block);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        for attr in &f.attrs {
            self.visit_attribute(attr);
        }
        self.visit_signature(&f.sig);
        self.define(&f.sig.ident, &f.block);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        for attr in &f.attrs {
            self.visit_attribute(attr);
        }
        self.visit_signature(&f.sig);
        if let Some(block) = &f.default {
            self.define(&f.sig.ident, block);
        }
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let name = item.ident.to_string();
        if item.content.is_none() {
            if matches!(item.vis, syn::Visibility::Inherited) {
                self.modules
                    .push([self.inline.as_slice(), &[name]].concat());
            }
            return;
        }
        self.inline.push(name);
        visit::visit_item_mod(self, item);
        self.inline.pop();
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some((_, path, _)) = &item.trait_
            && let syn::Type::Path(ty) = &*item.self_ty
            && let (Some(trait_name), Some(type_name)) = (last_name(path), last_name(&ty.path))
        {
            let strings = item
                .items
                .iter()
                .filter_map(|i| match i {
                    syn::ImplItem::Const(c) if !is_test(&c.attrs) => {
                        Some((c.ident.to_string(), string_literal(&c.expr)?))
                    }
                    _ => None,
                })
                .collect();
            self.impls.push(TraitImpl {
                trait_name,
                type_name,
                strings,
            });
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        if let Some(value) = string_literal(&c.expr) {
            let name = c.ident.to_string();
            self.note(|b| b.named_strings.push((name.clone(), value.clone())));
        }
        visit::visit_item_const(self, c);
    }

    fn visit_impl_item_const(&mut self, c: &'ast syn::ImplItemConst) {
        if let Some(value) = string_literal(&c.expr) {
            let name = c.ident.to_string();
            self.note(|b| b.named_strings.push((name.clone(), value.clone())));
        }
        visit::visit_impl_item_const(self, c);
    }

    fn visit_field_value(&mut self, field: &'ast syn::FieldValue) {
        if let syn::Member::Named(name) = &field.member
            && let Some(value) = string_literal(&field.expr)
        {
            let name = name.to_string();
            self.note(|b| b.named_strings.push((name.clone(), value.clone())));
        }
        visit::visit_field_value(self, field);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut found = Vec::new();
        use_paths(&item.tree, &mut Vec::new(), &mut found);
        found.retain(|p| p.len() > 1);
        self.paths.extend(found);
        visit::visit_item_use(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.len() > 1 && path.leading_colon.is_none() {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.paths.insert(segments);
        }
        visit::visit_path(self, path);
    }

    fn visit_ident(&mut self, ident: &'ast syn::Ident) {
        let name = ident.to_string();
        self.note(|b| {
            b.idents.insert(name.clone());
        });
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*call.func
            && let Some(name) = last_name(&p.path)
        {
            self.reference(name, false);
            if call.args.is_empty() {
                let path: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                self.note(|b| b.bare_calls.push(path.clone()));
            }
        }
        self.visit_expr(&call.func);
        self.arguments(&call.args);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let then = self.then.take();
        if matches!(*call.receiver, Expr::MethodCall(_)) {
            self.then = Some(call.method.to_string());
        }
        self.visit_expr(&call.receiver);
        let name = call.method.to_string();
        self.reference(name.clone(), true);
        let literal = call.args.first().and_then(string_literal);
        let bare = call.args.is_empty();
        self.note(|b| {
            b.idents.insert(name.clone());
            b.methods.push(MethodCall {
                name: name.clone(),
                bare,
                then: then.clone(),
                literal: literal.clone(),
            });
        });
        if let Some(turbofish) = &call.turbofish {
            self.visit_angle_bracketed_generic_arguments(turbofish);
        }
        self.arguments(&call.args);
    }

    fn visit_expr_tuple(&mut self, tuple: &'ast syn::ExprTuple) {
        self.arguments(&tuple.elems);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        self.macro_tokens(mac.tokens.clone());
    }
}
