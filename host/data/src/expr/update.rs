//! Update expressions: the syntax tree and its grammar. Applying an update is in
//! [`super::apply`].
//!
//! ```text
//! update     ::= clause+                      (each of SET, REMOVE, ADD, DELETE at most once)
//! clause     ::= SET set (',' set)* | REMOVE path (',' path)*
//!              | ADD path :value (',' path :value)* | DELETE path :value (',' path :value)*
//! set        ::= path '=' value
//! value      ::= sum | '(' sum ')' | '(' operand ')' ('+' | '-') operand
//! sum        ::= operand [ ('+' | '-') operand ]
//! operand    ::= path | :value | if_not_exists(path, operand) | list_append(operand, operand)
//!              | '(' operand ')'
//! ```
//!
//! Clause keywords are case-insensitive; function names are case-sensitive. No two
//! target paths may overlap (`a` and `a.b`) or address one element both as a list and as
//! a map (`a.b` and `a[0]`).

use super::context::ExprContext;
use super::errors::{ExprKind, Problem};
use super::lexer::TokenKind;
use super::parser::{Parser, long_type_name};
use super::path::{self, Path};
use crate::error::DataError;
use crate::schema::KeySchema;
use crate::value::Value;

/// A parsed update expression: its actions, in the order written.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub(crate) actions: Vec<UpdateAction>,
}

/// One action of an update expression.
#[derive(Clone, Debug, PartialEq)]
pub enum UpdateAction {
    /// `SET path = value`.
    Set {
        /// Where to write.
        path: Path,
        /// What to write, evaluated against the item as it was before the update.
        value: SetValue,
    },
    /// `REMOVE path`.
    Remove {
        /// What to remove.
        path: Path,
    },
    /// `ADD path :value`: add to a number, or union into a set.
    Add {
        /// The number or set to change (created when missing).
        path: Path,
        /// A number or a set.
        value: Value,
    },
    /// `DELETE path :value`: remove members from a set.
    Delete {
        /// The set to change.
        path: Path,
        /// A set of the same type.
        value: Value,
    },
}

impl UpdateAction {
    /// The path the action writes or removes.
    pub fn path(&self) -> &Path {
        match self {
            UpdateAction::Set { path, .. }
            | UpdateAction::Remove { path }
            | UpdateAction::Add { path, .. }
            | UpdateAction::Delete { path, .. } => path,
        }
    }
}

/// The right-hand side of a `SET` action.
#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    /// A single operand.
    Operand(SetOperand),
    /// `a + b` (numbers).
    Plus(SetOperand, SetOperand),
    /// `a - b` (numbers).
    Minus(SetOperand, SetOperand),
}

/// An operand of a `SET` value.
#[derive(Clone, Debug, PartialEq)]
pub enum SetOperand {
    /// The value at a path of the item (it must exist).
    Path(Path),
    /// An expression attribute value.
    Value(Value),
    /// `if_not_exists(path, operand)`: the value at `path`, or `operand` when there is none.
    IfNotExists(Path, Box<SetOperand>),
    /// `list_append(a, b)`: the elements of list `a`, then those of list `b`.
    ListAppend(Box<SetOperand>, Box<SetOperand>),
}

impl Update {
    /// The actions, in the order written.
    pub fn actions(&self) -> &[UpdateAction] {
        &self.actions
    }

    /// Checks that the update leaves the primary key alone.
    ///
    /// # Errors
    /// "One or more parameter values were invalid: Cannot update attribute {name}. This
    /// attribute is part of the key" when an action targets a key attribute, and "Key
    /// attributes must be scalars; list random access '[]' and map lookup '.' are not
    /// allowed: Key: {name}" when any path (target or operand) goes inside one.
    pub fn check_key(&self, key: &KeySchema) -> Result<(), DataError> {
        for attr in key.attributes() {
            if self.actions.iter().any(|a| a.path().head() == attr.name) {
                return Err(DataError::validation(format!(
                    "One or more parameter values were invalid: Cannot update attribute {}. This attribute is part of the key",
                    attr.name
                )));
            }
        }
        let mut nested_key = None;
        self.visit_paths(&mut |path| {
            if nested_key.is_none() && path.is_nested() && key.is_key_attribute(path.head()) {
                nested_key = Some(path.head().to_owned());
            }
        });
        match nested_key {
            Some(name) => Err(DataError::validation(format!(
                "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: {name}"
            ))),
            None => Ok(()),
        }
    }

    /// Calls `f` on every path of the update: targets and operands.
    pub(crate) fn visit_paths<'s>(&'s self, f: &mut impl FnMut(&'s Path)) {
        fn operand<'s>(op: &'s SetOperand, f: &mut impl FnMut(&'s Path)) {
            match op {
                SetOperand::Path(path) => f(path),
                SetOperand::Value(_) => {}
                SetOperand::IfNotExists(path, fallback) => {
                    f(path);
                    operand(fallback, f);
                }
                SetOperand::ListAppend(a, b) => {
                    operand(a, f);
                    operand(b, f);
                }
            }
        }
        for action in &self.actions {
            f(action.path());
            if let UpdateAction::Set { value, .. } = action {
                match value {
                    SetValue::Operand(op) => operand(op, f),
                    SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
                        operand(a, f);
                        operand(b, f);
                    }
                }
            }
        }
    }
}

/// Parses an update expression.
pub(crate) fn parse(text: &str, ctx: &mut ExprContext) -> Result<Update, DataError> {
    let mut parser = Parser::new(text, ExprKind::Update, ctx)?;
    let update = parser.update()?;
    parser.finish()?;
    Ok(update)
}

/// The words the update grammar keeps for itself; they cannot name attributes.
fn is_keyword(word: &str) -> bool {
    Clause::from_word(word).is_some()
}

/// A clause of an update expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clause {
    Set,
    Remove,
    Add,
    Delete,
}

impl Clause {
    const ALL: [Clause; 4] = [Clause::Set, Clause::Remove, Clause::Add, Clause::Delete];

    fn keyword(self) -> &'static str {
        match self {
            Clause::Set => "SET",
            Clause::Remove => "REMOVE",
            Clause::Add => "ADD",
            Clause::Delete => "DELETE",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|clause| word.eq_ignore_ascii_case(clause.keyword()))
    }
}

impl Parser<'_, '_, '_> {
    fn update(&mut self) -> Result<Update, DataError> {
        let mut actions = Vec::new();
        let mut targets: Vec<Path> = Vec::new();
        let mut seen = Vec::new();
        loop {
            let token = self.peek();
            let clause = match token.kind {
                TokenKind::Ident => Clause::from_word(self.text_of(token)),
                _ => None,
            };
            let Some(clause) = clause else {
                return Err(self.syntax_error());
            };
            self.advance();
            if seen.contains(&clause) {
                self.problems.report(
                    Problem::RepeatedSection,
                    format!(
                        "The \"{}\" section can only be used once in an update expression;",
                        clause.keyword()
                    ),
                );
            }
            seen.push(clause);
            loop {
                let action = self.action(clause)?;
                path::check_against(&targets, action.path(), &mut self.problems);
                targets.push(action.path().clone());
                actions.push(action);
                if !self.eat(TokenKind::Comma) {
                    break;
                }
            }
            if self.at(TokenKind::Eof) {
                return Ok(Update { actions });
            }
        }
    }

    fn action(&mut self, clause: Clause) -> Result<UpdateAction, DataError> {
        let path = self.path(is_keyword)?;
        Ok(match clause {
            Clause::Set => {
                self.expect(TokenKind::Eq)?;
                let value = self.set_value()?;
                UpdateAction::Set { path, value }
            }
            Clause::Remove => UpdateAction::Remove { path },
            Clause::Add => {
                let value = self.value()?;
                if !matches!(
                    value,
                    Value::N(_) | Value::Ss(_) | Value::Ns(_) | Value::Bs(_)
                ) {
                    self.report_action_operand("ADD", &value);
                }
                UpdateAction::Add { path, value }
            }
            Clause::Delete => {
                let value = self.value()?;
                if !matches!(value, Value::Ss(_) | Value::Ns(_) | Value::Bs(_)) {
                    self.report_action_operand("DELETE", &value);
                }
                UpdateAction::Delete { path, value }
            }
        })
    }

    fn report_action_operand(&mut self, operator: &str, value: &Value) {
        self.problems.report(
            Problem::ActionOperandType,
            format!(
                "Incorrect operand type for operator or function; operator: {operator}, operand type: {}",
                long_type_name(value)
            ),
        );
    }

    fn set_value(&mut self) -> Result<SetValue, DataError> {
        if !self.eat(TokenKind::LParen) {
            return self.sum();
        }
        self.enter()?;
        let inner = self.sum()?;
        self.expect(TokenKind::RParen)?;
        self.leave();
        match inner {
            // `(a) + b`: the parentheses held just the first operand.
            SetValue::Operand(first) => self.sum_rest(first),
            sum => Ok(sum),
        }
    }

    fn sum(&mut self) -> Result<SetValue, DataError> {
        let first = self.set_operand()?;
        self.sum_rest(first)
    }

    fn sum_rest(&mut self, first: SetOperand) -> Result<SetValue, DataError> {
        let symbol = match self.peek().kind {
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            _ => return Ok(SetValue::Operand(first)),
        };
        self.count_operator()?;
        self.advance();
        let second = self.set_operand()?;
        for operand in [&first, &second] {
            if let SetOperand::Value(value) = operand
                && !matches!(value, Value::N(_))
            {
                self.report_function_operand(symbol, value);
            }
        }
        Ok(if symbol == "+" {
            SetValue::Plus(first, second)
        } else {
            SetValue::Minus(first, second)
        })
    }

    fn set_operand(&mut self) -> Result<SetOperand, DataError> {
        if self.eat(TokenKind::LParen) {
            self.enter()?;
            let operand = self.set_operand()?;
            self.expect(TokenKind::RParen)?;
            self.leave();
            return Ok(operand);
        }
        let token = self.peek();
        match token.kind {
            TokenKind::Value => Ok(SetOperand::Value(self.value()?)),
            TokenKind::Ident if self.peek_at(1).kind == TokenKind::LParen => {
                let name = self.text_of(token);
                self.count_operator()?;
                self.advance();
                self.advance();
                self.enter()?;
                let mut args = vec![self.set_operand()?];
                while self.eat(TokenKind::Comma) {
                    args.push(self.set_operand()?);
                }
                self.expect(TokenKind::RParen)?;
                self.leave();
                Ok(self.set_function(name, args))
            }
            TokenKind::Ident | TokenKind::Name => Ok(SetOperand::Path(self.path(is_keyword)?)),
            _ => Err(self.syntax_error()),
        }
    }

    fn set_function(&mut self, name: &str, args: Vec<SetOperand>) -> SetOperand {
        let placeholder = SetOperand::Value(Value::Null);
        if !matches!(name, "if_not_exists" | "list_append") {
            self.report_unknown_function(name);
            return placeholder;
        }
        let count = args.len();
        let Ok([first, second]) = <[SetOperand; 2]>::try_from(args) else {
            self.problems.report(
                Problem::OperandCount,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {count}"
                ),
            );
            return placeholder;
        };
        if name == "if_not_exists" {
            let SetOperand::Path(path) = first else {
                self.problems.report(
                    Problem::OperandType,
                    "Operator or function requires a document path; operator or function: if_not_exists",
                );
                return placeholder;
            };
            return SetOperand::IfNotExists(path, Box::new(second));
        }
        for operand in [&first, &second] {
            if let SetOperand::Value(value) = operand
                && !matches!(value, Value::L(_))
            {
                self.report_function_operand(name, value);
            }
        }
        SetOperand::ListAppend(Box::new(first), Box::new(second))
    }

    fn report_function_operand(&mut self, function: &str, value: &Value) {
        self.problems.report(
            Problem::OperandType,
            format!(
                "Incorrect operand type for operator or function; operator or function: {function}, operand type: {}",
                value.value_type().name()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Placeholders;
    use crate::schema::string_keys;
    use crate::value::Set;

    fn placeholders() -> Placeholders {
        Placeholders {
            names: [
                ("#c".to_owned(), "c".to_owned()),
                ("#d".to_owned(), "[3]".to_owned()),
                ("#s".to_owned(), "status".to_owned()),
            ]
            .into(),
            values: [
                (":n", Value::n(1)),
                (":s", Value::s("a")),
                (":l", Value::L(vec![])),
                (":m", Value::M(Default::default())),
                (":null", Value::Null),
                (":bool", Value::Bool(true)),
                (":bin", Value::B(vec![1])),
                (
                    ":ss",
                    Value::Ss(Set::new(vec!["x".to_owned()]).expect("set")),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }
    }

    fn parse_ok(text: &str) -> Update {
        let p = placeholders();
        let mut ctx = ExprContext::new(&p);
        parse(text, &mut ctx).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn parse_err(text: &str) -> String {
        let p = placeholders();
        let mut ctx = ExprContext::new(&p);
        match parse(text, &mut ctx) {
            Ok(update) => panic!("{text}: parsed as {update:?}"),
            Err(error) => error.message(),
        }
    }

    #[test]
    fn clauses_in_any_order_and_case() {
        let update = parse_ok("remove x, y set a = :n, b = b + :n add c :n delete d :ss");
        let kinds: Vec<&str> = update
            .actions()
            .iter()
            .map(|a| match a {
                UpdateAction::Set { .. } => "set",
                UpdateAction::Remove { .. } => "remove",
                UpdateAction::Add { .. } => "add",
                UpdateAction::Delete { .. } => "delete",
            })
            .collect();
        assert_eq!(kinds, ["remove", "remove", "set", "set", "add", "delete"]);
        parse_ok("SeT a = :n");
    }

    #[test]
    fn set_values() {
        let value = |text: &str| match parse_ok(text).actions.into_iter().next() {
            Some(UpdateAction::Set { value, .. }) => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            value("SET a = :n"),
            SetValue::Operand(SetOperand::Value(Value::n(1)))
        );
        assert!(matches!(value("SET a = b - :n"), SetValue::Minus(..)));
        assert!(matches!(value("SET a = (b + :n)"), SetValue::Plus(..)));
        assert!(matches!(value("SET a = (b) + (:n)"), SetValue::Plus(..)));
        assert!(matches!(
            value("SET a = list_append(if_not_exists(a, :l), :l)"),
            SetValue::Operand(SetOperand::ListAppend(..))
        ));
        assert!(matches!(
            value("SET a = if_not_exists(b.c[0], :n) + :n"),
            SetValue::Plus(SetOperand::IfNotExists(..), _)
        ));
    }

    #[test]
    fn syntax_errors() {
        for text in [
            "whatever",
            "set a",
            "add a",
            "delete a",
            "set a=set",
            "remove a = b",
            "add a = b",
            "delete a = b",
            "delete a b",
            "delete a if_not_exist(b)",
            "add abort b",
            "add a if_not_exist(b)",
            "remove a b",
            "set a b",
            "set :a = b",
            "add :a b",
            "delete :a b",
            "remove :a",
            "set a = b / c",
            "set a = b * c",
            "set a[1] = \"eight\"",
            "set a[1] = 1",
            "SET if_not_exist(a, b) = a",
            "set (a = (b + c))",
            "set a = (b.c).d + e",
            "set a = (b.c)[0] + e",
            "set a = b + c + d",
            "set a = :n,",
            "set a = :n remove",
            " ",
        ] {
            let message = parse_err(text);
            assert!(
                message.starts_with("Invalid UpdateExpression: Syntax error; token: "),
                "{text}: {message}"
            );
        }
        assert_eq!(
            parse_err("ADD hits : incr"),
            "Invalid UpdateExpression: Syntax error; token: \":\", near: \"hits : incr\""
        );
    }

    #[test]
    fn repeated_sections() {
        for (text, clause) in [
            ("set a = :n set c = :n", "SET"),
            ("remove d set a = :n remove e", "REMOVE"),
            ("add d :n set a = :n add e :n", "ADD"),
            ("delete d :ss set a = :n delete e :ss", "DELETE"),
        ] {
            assert_eq!(
                parse_err(text),
                format!(
                    "Invalid UpdateExpression: The \"{clause}\" section can only be used once in an update expression;"
                )
            );
        }
    }

    #[test]
    fn reserved_words_and_placeholders() {
        assert_eq!(
            parse_err("set #c = :n set abOrt = :n"),
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: abOrt"
        );
        assert_eq!(
            parse_err(" remove Absolute "),
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: Absolute"
        );
        assert_eq!(
            parse_err("SET #x = :n"),
            "Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #x"
        );
        assert_eq!(
            parse_err("SET a = :x"),
            "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :x"
        );
        parse_ok("SET #s = :s");
    }

    #[test]
    fn overlapping_and_conflicting_paths() {
        assert_eq!(
            parse_err("set d.b = :n, c[1].a = :n, #c = :n"),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [1], a], path two: [c]"
        );
        assert_eq!(
            parse_err("set #c[3].#d = :n, #c[3] = :n"),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3]]"
        );
        assert_eq!(
            parse_err("remove a.#c set a[1] = :n"),
            "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]"
        );
        assert_eq!(
            parse_err("SET a = :n REMOVE a"),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"
        );
        // Overlaps are reported before conflicts.
        assert!(parse_err("set d[1] = :n, d.b = :n, c = :n, c.x = :n").contains("overlap"));
        parse_ok("SET a[1] = :n, a[2] = :n REMOVE a[3], b.c");
    }

    #[test]
    fn operand_types() {
        for (text, operator, type_name) in [
            ("add a :s", "ADD", "STRING"),
            ("add a :null", "ADD", "NULL"),
            ("add a :bool", "ADD", "BOOLEAN"),
            ("add a :bin", "ADD", "BINARY"),
            ("add a :m", "ADD", "MAP"),
            ("add a :l", "ADD", "LIST"),
            ("delete a :s", "DELETE", "STRING"),
            ("delete a :n", "DELETE", "NUMBER"),
        ] {
            assert_eq!(
                parse_err(text),
                format!(
                    "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: {operator}, operand type: {type_name}"
                )
            );
        }
        for (text, function, type_name) in [
            ("set a = list_append(:s, a)", "list_append", "S"),
            ("set a = list_append(a, :n)", "list_append", "N"),
            ("set a = a + :s", "+", "S"),
            ("set a = :ss - a", "-", "SS"),
            ("set a = a + :l", "+", "L"),
        ] {
            assert_eq!(
                parse_err(text),
                format!(
                    "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
                )
            );
        }
    }

    #[test]
    fn function_errors() {
        assert_eq!(
            parse_err("set a = if_not_exists(c)"),
            "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1"
        );
        assert_eq!(
            parse_err("set a = list_append(a, b, c)"),
            "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 3"
        );
        assert_eq!(
            parse_err("set a = if_not_exists(:n, c)"),
            "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"
        );
        assert_eq!(
            parse_err("set a = size(b)"),
            "Invalid UpdateExpression: Invalid function name; function: size"
        );
        assert_eq!(
            parse_err("set a = IF_NOT_EXISTS(a, :n)"),
            "Invalid UpdateExpression: Invalid function name; function: IF_NOT_EXISTS"
        );
    }

    #[test]
    fn nesting_is_capped() {
        let deep = format!("SET a = {}:n{}", "(".repeat(150), ")".repeat(150));
        assert!(parse_err(&deep).contains("too many nesting levels"));
        let deep = format!(
            "SET a = {}a, :l{}",
            "list_append(".repeat(150),
            ")".repeat(150)
        );
        assert!(parse_err(&deep).contains("nesting levels"));
    }

    #[test]
    fn key_attributes_cannot_be_updated() {
        let key = string_keys("pk", Some("sk"));
        for text in [
            "SET pk = :s",
            "REMOVE x, pk",
            "ADD pk.b :n",
            "SET b = :n, pk = :n",
        ] {
            assert_eq!(
                parse_ok(text).check_key(&key).unwrap_err().message(),
                "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
                "{text}"
            );
        }
        assert_eq!(
            parse_ok("DELETE sk :ss")
                .check_key(&key)
                .unwrap_err()
                .message(),
            "One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key"
        );
        assert_eq!(
            parse_ok("SET x = pk.a")
                .check_key(&key)
                .unwrap_err()
                .message(),
            "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: pk"
        );
        assert!(
            parse_ok("SET x = pk, y = if_not_exists(sk, :s)")
                .check_key(&key)
                .is_ok()
        );
    }
}
