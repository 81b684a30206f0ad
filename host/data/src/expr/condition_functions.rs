//! The functions of condition expressions, and the checks DynamoDB makes on operands
//! while parsing: argument counts, operands that must be paths, operand types known from
//! values, distinct operands, `BETWEEN` bounds.

use std::cmp::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::condition::{Condition, Operand};
use super::condition_parser::{Term, placeholder_condition};
use super::errors::Problem;
use super::eval::compare_ordered;
use super::parser::Parser;
use crate::value::{Value, ValueType};

impl Parser<'_, '_, '_> {
    /// A term used as an operand: only `size` of the functions is one.
    pub(crate) fn term_operand(&mut self, term: Term) -> Operand {
        let (name, args) = match term {
            Term::Operand(operand) => return operand,
            Term::Call { name, args } => (name, args),
        };
        match name.as_str() {
            "size" => {
                let Some([arg]) = self.arguments::<1>(&name, args) else {
                    return Operand::Value(Value::Null);
                };
                if let Some(t @ (ValueType::N | ValueType::Bool | ValueType::Null)) =
                    arg.static_type()
                {
                    self.report_operand_type(&name, t.name());
                }
                Operand::Size(Box::new(arg))
            }
            "attribute_exists"
            | "attribute_not_exists"
            | "attribute_type"
            | "begins_with"
            | "contains" => {
                self.problems.report(
                    Problem::MisusedFunction,
                    format!(
                        "The function is not allowed to be used this way in an expression; function: {name}"
                    ),
                );
                Operand::Value(Value::Null)
            }
            _ => {
                self.report_unknown_function(&name);
                Operand::Value(Value::Null)
            }
        }
    }

    /// A function call standing as a condition.
    pub(crate) fn call_condition(&mut self, name: &str, args: Vec<Operand>) -> Condition {
        match name {
            "attribute_exists" | "attribute_not_exists" => {
                let Some([arg]) = self.arguments::<1>(name, args) else {
                    return placeholder_condition();
                };
                let Operand::Path(path) = arg else {
                    self.problems.report(
                        Problem::OperandType,
                        format!(
                            "Operator or function requires a document path; operator or function: {name}"
                        ),
                    );
                    return placeholder_condition();
                };
                if name == "attribute_exists" {
                    Condition::AttributeExists(path)
                } else {
                    Condition::AttributeNotExists(path)
                }
            }
            "attribute_type" => {
                let Some([operand, type_name]) = self.arguments::<2>(name, args) else {
                    return placeholder_condition();
                };
                self.check_distinct(name, &operand, &type_name);
                match self.attribute_type_name(&type_name) {
                    Some(value_type) => Condition::AttributeType(operand, value_type),
                    None => placeholder_condition(),
                }
            }
            "begins_with" | "contains" => {
                let Some([a, b]) = self.arguments::<2>(name, args) else {
                    return placeholder_condition();
                };
                self.check_distinct(name, &a, &b);
                if name == "contains" {
                    return Condition::Contains(a, b);
                }
                for operand in [&a, &b] {
                    if let Some(t) = operand.static_type()
                        && !matches!(t, ValueType::S | ValueType::B)
                    {
                        self.report_operand_type(name, t.name());
                    }
                }
                Condition::BeginsWith(a, b)
            }
            "size" => {
                self.problems.report(
                    Problem::MisusedFunction,
                    "The function is not allowed to be used this way in an expression; function: size",
                );
                placeholder_condition()
            }
            _ => {
                self.report_unknown_function(name);
                placeholder_condition()
            }
        }
    }

    /// The type `attribute_type`'s second argument names, which must be a string value
    /// holding one of DynamoDB's type names.
    fn attribute_type_name(&mut self, operand: &Operand) -> Option<ValueType> {
        let name = match operand {
            Operand::Value(Value::S(name)) => name,
            Operand::Value(other) => {
                self.report_operand_type("attribute_type", other.value_type().name());
                return None;
            }
            Operand::Size(_) => {
                self.report_operand_type("attribute_type", "N");
                return None;
            }
            Operand::Path(_) => {
                self.report_operand_type("attribute_type", "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}");
                return None;
            }
        };
        let value_type = ValueType::from_name(name);
        if value_type.is_none() {
            self.problems.report(
                Problem::OperandType,
                format!(
                    "Invalid attribute type name found; type: {name}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                ),
            );
        }
        value_type
    }

    /// The arguments of a call to `name` taking exactly `N` of them.
    fn arguments<const N: usize>(
        &mut self,
        name: &str,
        args: Vec<Operand>,
    ) -> Option<[Operand; N]> {
        let count = args.len();
        let array = <[Operand; N]>::try_from(args).ok();
        if array.is_none() {
            self.problems.report(
                Problem::OperandCount,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {count}"
                ),
            );
        }
        array
    }

    /// DynamoDB refuses comparing a path with itself (`a = a`, `contains(a, a)`).
    pub(crate) fn check_distinct(&mut self, operator: &str, first: &Operand, second: &Operand) {
        if let (Operand::Path(a), Operand::Path(b)) = (first, second)
            && a == b
        {
            self.problems.report(
                Problem::NotDistinct,
                format!(
                    "The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {}",
                    a.bracketed()
                ),
            );
        }
    }

    /// `BETWEEN` with two value bounds: same type, lower ≤ upper.
    pub(crate) fn check_bounds(&mut self, low: &Operand, high: &Operand) {
        let (Operand::Value(low), Operand::Value(high)) = (low, high) else {
            return;
        };
        let problem = if low.value_type() != high.value_type() {
            "The BETWEEN operator requires same data type for lower and upper bounds"
        } else if compare_ordered(low, high) == Some(Ordering::Greater) {
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound"
        } else {
            return;
        };
        self.problems.report(
            Problem::OperandType,
            format!(
                "{problem}; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
                describe(low),
                describe(high)
            ),
        );
    }

    fn report_operand_type(&mut self, function: &str, type_name: &str) {
        self.problems.report(
            Problem::OperandType,
            format!(
                "Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_name}"
            ),
        );
    }

    /// Records DynamoDB's error for a function it does not know.
    pub(crate) fn report_unknown_function(&mut self, name: &str) {
        self.problems.report(
            Problem::UnknownFunction,
            format!("Invalid function name; function: {name}"),
        );
    }
}

/// A value as DynamoDB shows it in `BETWEEN` errors: `{S:abc}`, `{N:1}`.
fn describe(value: &Value) -> String {
    let shown = match value {
        Value::S(text) => text.clone(),
        Value::N(number) => number.to_string(),
        Value::B(bytes) => BASE64.encode(bytes),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => "true".to_owned(),
        Value::Ss(set) => format!("[{}]", set.members().join(", ")),
        Value::Ns(set) => {
            let members: Vec<String> = set.members().iter().map(ToString::to_string).collect();
            format!("[{}]", members.join(", "))
        }
        Value::Bs(set) => {
            let members: Vec<String> = set.members().iter().map(|b| BASE64.encode(b)).collect();
            format!("[{}]", members.join(", "))
        }
        Value::M(map) => format!("{{{} entries}}", map.len()),
        Value::L(list) => format!("[{} elements]", list.len()),
    };
    format!("{{{}:{shown}}}", value.value_type().name())
}

#[cfg(test)]
mod tests {
    use crate::expr::condition::Condition;
    use crate::expr::condition_parser::tests::{parse_err, parse_ok, path};
    use crate::expr::path::Path;
    use crate::value::ValueType;

    #[test]
    fn functions() {
        assert_eq!(
            parse_ok("attribute_exists(#s)"),
            Condition::AttributeExists(Path::attribute("status"))
        );
        assert_eq!(
            parse_ok("attribute_type(a, :t)"),
            Condition::AttributeType(path("a"), ValueType::Ss)
        );
        assert!(matches!(
            parse_ok("begins_with(a, :a)"),
            Condition::BeginsWith(..)
        ));
        assert!(matches!(
            parse_ok("contains(a.b, :a)"),
            Condition::Contains(..)
        ));
        assert!(matches!(
            parse_ok("NOT attribute_not_exists(a[0])"),
            Condition::Not(_)
        ));
    }

    #[test]
    fn function_misuse() {
        assert_eq!(
            parse_err("size(a)"),
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size"
        );
        assert_eq!(
            parse_err("attribute_exists(a) = :one"),
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists"
        );
        assert_eq!(
            parse_err("a = contains(b, :a)"),
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: contains"
        );
        assert_eq!(
            parse_err("attribute_exists(a, b)"),
            "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"
        );
        assert_eq!(
            parse_err("attribute_exists(:one)"),
            "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"
        );
        assert_eq!(
            parse_err("begins_with(a, :one)"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
        );
        assert_eq!(
            parse_err("size(:one) > :one"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N"
        );
        assert_eq!(
            parse_err("attribute_type(a, :bad_type)"),
            "Invalid ConditionExpression: Invalid attribute type name found; type: STRING, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
        );
        assert_eq!(
            parse_err("attribute_type(a, :one)"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"
        );
        assert!(
            parse_err("attribute_type(a, b)")
                .contains("operator or function: attribute_type, operand type: ")
        );
        assert_eq!(
            parse_err("foo(a)"),
            "Invalid ConditionExpression: Invalid function name; function: foo"
        );
    }

    #[test]
    fn distinct_operands_and_between_bounds() {
        assert_eq!(
            parse_err("a.b = a.b"),
            "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a, b]"
        );
        assert!(parse_err("contains(a, a)").contains("operator: contains, first operand: [a]"));
        assert_eq!(
            parse_err("a BETWEEN :two AND :one"),
            "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"
        );
        assert_eq!(
            parse_err("a BETWEEN :one AND :a"),
            "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}"
        );
        parse_ok("a BETWEEN :one AND :one");
    }
}
