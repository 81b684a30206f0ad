//! How expression errors are worded: DynamoDB's messages, prefixed with the request
//! parameter the expression came from ("Invalid UpdateExpression: …").
//!
//! Syntax errors stop parsing at once. Other problems (an undefined placeholder, a reserved
//! word, a misused function, …) are collected while parsing goes on, and the one DynamoDB
//! would report first is returned at the end: DynamoDB validates in passes, so when an
//! expression has several problems the reported one depends on its kind, not on its
//! position in the text.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::DataError;

/// The request parameter an expression came from; DynamoDB names it in every error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExprKind {
    /// `ConditionExpression` (put, update, delete, condition check).
    Condition,
    /// `FilterExpression` (query, scan).
    Filter,
    /// `KeyConditionExpression` (query).
    KeyCondition,
    /// `UpdateExpression` (update).
    Update,
    /// `ProjectionExpression` (get, query, scan, batch get, transact get).
    Projection,
}

impl ExprKind {
    /// The parameter's name, as DynamoDB spells it.
    pub fn parameter(self) -> &'static str {
        match self {
            ExprKind::Condition => "ConditionExpression",
            ExprKind::Filter => "FilterExpression",
            ExprKind::KeyCondition => "KeyConditionExpression",
            ExprKind::Update => "UpdateExpression",
            ExprKind::Projection => "ProjectionExpression",
        }
    }

    /// A validation error about an expression of this kind: "Invalid {parameter}: {message}".
    pub(crate) fn error(self, message: impl fmt::Display) -> DataError {
        DataError::validation(format!("Invalid {}: {message}", self.parameter()))
    }

    /// DynamoDB's syntax error: the offending token (`<EOF>` at the end) and the text
    /// around it.
    pub(crate) fn syntax_error(self, token: &str, near: &str) -> DataError {
        self.error(format_args!(
            "Syntax error; token: \"{token}\", near: \"{near}\""
        ))
    }

    /// The order in which DynamoDB reports problems of expressions of this kind.
    fn report_order(self) -> &'static [Problem] {
        use Problem::*;
        match self {
            ExprKind::Condition | ExprKind::Filter | ExprKind::KeyCondition => &[
                RedundantParentheses,
                UnknownFunction,
                MisusedFunction,
                Reserved,
                UndefinedName,
                UndefinedValue,
                OperandCount,
                NotDistinct,
                OperandType,
            ],
            ExprKind::Update => &[
                Reserved,
                UnknownFunction,
                RepeatedSection,
                UndefinedName,
                UndefinedValue,
                PathOverlap,
                PathConflict,
                ActionOperandType,
                OperandCount,
                OperandType,
            ],
            ExprKind::Projection => &[Reserved, UndefinedName, PathOverlap, PathConflict],
        }
    }
}

impl fmt::Display for ExprKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.parameter())
    }
}

/// A kind of problem found while parsing (other than a syntax error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Problem {
    /// `((a = b))`.
    RedundantParentheses,
    /// A function DynamoDB does not know (names are case-sensitive).
    UnknownFunction,
    /// A condition function used as an operand, or `size` used as a condition.
    MisusedFunction,
    /// A reserved word used as an attribute name.
    Reserved,
    /// The same clause twice in an update expression.
    RepeatedSection,
    /// A `#name` not in `ExpressionAttributeNames`.
    UndefinedName,
    /// A `:value` not in `ExpressionAttributeValues`.
    UndefinedValue,
    /// Two paths of an update or projection where one contains the other.
    PathOverlap,
    /// Two paths of an update or projection that address the same element both as a
    /// list and as a map.
    PathConflict,
    /// An `ADD` or `DELETE` value of a type the action does not take.
    ActionOperandType,
    /// A function called with the wrong number of arguments.
    OperandCount,
    /// A comparison or function whose two operands are the same path.
    NotDistinct,
    /// An operand of a type (known when parsing) that the operator does not take.
    OperandType,
}

/// The problems found so far: the first message of each kind.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    found: BTreeMap<Problem, String>,
}

impl Problems {
    /// Records a problem; a later problem of the same kind is ignored.
    pub(crate) fn report(&mut self, problem: Problem, message: impl Into<String>) {
        self.found.entry(problem).or_insert_with(|| message.into());
    }

    /// Whether nothing was reported.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The error DynamoDB would report for these problems in an expression of `kind`.
    pub(crate) fn into_result(mut self, kind: ExprKind) -> Result<(), DataError> {
        for problem in kind.report_order() {
            if let Some(message) = self.found.remove(problem) {
                return Err(kind.error(message));
            }
        }
        // A problem outside the kind's order (not expected): still an error.
        match self.found.into_values().next() {
            Some(message) => Err(kind.error(message)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_parameter() {
        assert_eq!(
            ExprKind::Filter
                .error("The expression can not be empty;")
                .message(),
            "Invalid FilterExpression: The expression can not be empty;"
        );
        assert_eq!(
            ExprKind::Update.syntax_error("=", "a = =").message(),
            "Invalid UpdateExpression: Syntax error; token: \"=\", near: \"a = =\""
        );
        assert_eq!(ExprKind::KeyCondition.to_string(), "KeyConditionExpression");
    }

    #[test]
    fn problems_are_reported_in_dynamodb_order() {
        let mut problems = Problems::default();
        problems.report(Problem::UndefinedValue, "value");
        problems.report(Problem::Reserved, "reserved one");
        problems.report(Problem::Reserved, "reserved two");
        let error = problems.into_result(ExprKind::Update).unwrap_err();
        assert_eq!(error.message(), "Invalid UpdateExpression: reserved one");

        let mut problems = Problems::default();
        problems.report(Problem::Reserved, "reserved");
        problems.report(Problem::UnknownFunction, "function");
        let error = problems.into_result(ExprKind::Condition).unwrap_err();
        assert_eq!(error.message(), "Invalid ConditionExpression: function");
    }

    #[test]
    fn no_problems_is_ok() {
        let problems = Problems::default();
        assert!(problems.is_empty());
        assert!(problems.into_result(ExprKind::Projection).is_ok());
    }
}
