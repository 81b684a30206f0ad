use super::placeholders::{Placeholders, UserPlaceholders};
use crate::data::{
    Condition, Error, Expression, Number, StringSet, Update, Value, ValueType, attr,
};

fn text(c: &Condition) -> String {
    match c.to_expression() {
        Ok(e) => e.text,
        Err(e) => panic!("{e}"),
    }
}

fn expression(u: &Update) -> Expression {
    match u.to_expression() {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    }
}

fn names(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn comparisons() {
    assert_eq!(text(&attr("a").eq(1)), "#n0 = :v0");
    assert_eq!(text(&attr("a").ne(1)), "#n0 <> :v0");
    assert_eq!(text(&attr("a").lt(1)), "#n0 < :v0");
    assert_eq!(text(&attr("a").le(1)), "#n0 <= :v0");
    assert_eq!(text(&attr("a").gt(1)), "#n0 > :v0");
    assert_eq!(text(&attr("a").ge(1)), "#n0 >= :v0");
    assert_eq!(text(&attr("a").between(1, 9)), "#n0 BETWEEN :v0 AND :v1");
    assert_eq!(text(&attr("a").is_in([1, 2, 3])), "#n0 IN (:v0, :v1, :v2)");
    assert_eq!(text(&attr("a").lt(attr("b"))), "#n0 < #n1");
    assert_eq!(text(&attr("a").size().gt(3)), "size(#n0) > :v0");
    assert_eq!(
        text(&attr("a").size().between(1, 2)),
        "size(#n0) BETWEEN :v0 AND :v1"
    );
    assert_eq!(text(&attr("a").le(attr("b").size())), "#n0 <= size(#n1)");
}

#[test]
fn functions() {
    assert_eq!(text(&attr("id").exists()), "attribute_exists(#n0)");
    assert_eq!(text(&attr("id").not_exists()), "attribute_not_exists(#n0)");
    assert_eq!(
        text(&attr("sk").begins_with("order#")),
        "begins_with(#n0, :v0)"
    );
    assert_eq!(text(&attr("tags").contains("x")), "contains(#n0, :v0)");
    let typed = attr("tags").is_type(ValueType::Ss).to_expression();
    assert_eq!(
        typed.map(|e| (e.text, e.values)),
        Ok((
            "attribute_type(#n0, :v0)".to_string(),
            vec![(":v0".to_string(), Value::from("SS"))]
        ))
    );
}

#[test]
fn nested_paths_and_reserved_words() {
    let e = attr("status")
        .field("name")
        .index(2)
        .field("data")
        .eq("x")
        .to_expression();
    let e = e.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.text, "#n0.#n1[2].#n2 = :v0");
    assert_eq!(
        e.names,
        names(&[("#n0", "status"), ("#n1", "name"), ("#n2", "data")])
    );
    // A dot in a name is part of the name, not a path.
    let dotted = attr("a.b").exists().to_expression();
    assert_eq!(dotted.map(|e| e.names), Ok(names(&[("#n0", "a.b")])));
}

#[test]
fn names_are_deduplicated_values_are_not() {
    let e = attr("v").ge(1).and(attr("v").le(1)).to_expression();
    let e = e.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.text, "#n0 >= :v0 AND #n0 <= :v1");
    assert_eq!(e.names, names(&[("#n0", "v")]));
    assert_eq!(e.values.len(), 2);
}

#[test]
fn logic_and_parentheses() {
    let a = || attr("a").eq(1);
    let b = || attr("b").eq(2);
    let c = || attr("c").eq(3);
    assert_eq!(
        text(&a().and(b()).and(c())),
        "#n0 = :v0 AND #n1 = :v1 AND #n2 = :v2"
    );
    assert_eq!(
        text(&a().or(b()).or(c())),
        "#n0 = :v0 OR #n1 = :v1 OR #n2 = :v2"
    );
    assert_eq!(
        text(&a().and(b().or(c()))),
        "#n0 = :v0 AND (#n1 = :v1 OR #n2 = :v2)"
    );
    assert_eq!(
        text(&a().or(b().and(c()))),
        "#n0 = :v0 OR (#n1 = :v1 AND #n2 = :v2)"
    );
    assert_eq!(
        text(&a().or(b()).and(c())),
        "(#n0 = :v0 OR #n1 = :v1) AND #n2 = :v2"
    );
    assert_eq!(text(&a().not()), "NOT #n0 = :v0");
    assert_eq!(text(&a().and(b()).not()), "NOT (#n0 = :v0 AND #n1 = :v1)");
    assert_eq!(
        text(&(a() & !b() | c())),
        "(#n0 = :v0 AND NOT #n1 = :v1) OR #n2 = :v2"
    );
    assert_eq!(text(&Condition::all([a(), b()])), "#n0 = :v0 AND #n1 = :v1");
    assert_eq!(text(&Condition::any([a()])), "#n0 = :v0");
}

#[test]
fn raw_conditions_are_parenthesised_when_combined() {
    assert_eq!(text(&Condition::raw("a = :x")), "a = :x");
    assert_eq!(
        text(&Condition::raw("a = :x OR b = :y").and(attr("c").exists())),
        "(a = :x OR b = :y) AND attribute_exists(#n0)"
    );
    assert_eq!(text(&Condition::raw("x").not()), "NOT (x)");
}

#[test]
fn invalid_conditions_fail_when_rendered() {
    assert!(matches!(
        attr("a").eq(f64::NAN).to_expression(),
        Err(Error::Serialization(_))
    ));
    assert!(matches!(
        attr("a").is_in(Vec::<i32>::new()).to_expression(),
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        Condition::all([]).to_expression(),
        Err(Error::Validation(_))
    ));
    // The error survives composition.
    let composed = attr("b").exists().and(attr("a").between(1, f64::INFINITY));
    assert!(composed.to_expression().is_err());
}

#[test]
fn values_keep_their_types() {
    let e = attr("a")
        .is_in([
            Value::from("x"),
            Value::N(Number::from(1)),
            Value::Bool(true),
        ])
        .to_expression()
        .unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<Value> = e.values.into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        values,
        [Value::from("x"), Value::from(1), Value::from(true)]
    );
}

#[test]
fn update_clauses_in_order() {
    let u = Update::new()
        .set("count", 5)
        .add("n", 1)
        .remove("x")
        .delete_from_set("tags", StringSet::from(["old"]))
        .set_if_not_exists("created", "2024")
        .append_to_list("log", ["a", "b"])
        .prepend_to_list("recent", [1])
        .increment(attr("stats").field("views"), 2)
        .remove(attr("l").index(0))
        .set(attr("copy"), attr("count"));
    let e = expression(&u);
    assert_eq!(
        e.text,
        "SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1), \
         #n2 = list_append(if_not_exists(#n2, :v2), :v3), \
         #n3 = list_append(:v4, if_not_exists(#n3, :v5)), \
         #n4.#n5 = if_not_exists(#n4.#n5, :v6) + :v7, \
         #n6 = #n0 \
         REMOVE #n7, #n8[0] \
         ADD #n9 :v8 \
         DELETE #n10 :v9"
    );
    assert_eq!(
        e.names,
        names(&[
            ("#n0", "count"),
            ("#n1", "created"),
            ("#n2", "log"),
            ("#n3", "recent"),
            ("#n4", "stats"),
            ("#n5", "views"),
            ("#n6", "copy"),
            ("#n7", "x"),
            ("#n8", "l"),
            ("#n9", "n"),
            ("#n10", "tags"),
        ])
    );
    let value = |k: &str| {
        e.values
            .iter()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value(":v2"), Some(Value::L(vec![])));
    assert_eq!(
        value(":v3"),
        Some(Value::L(vec![Value::from("a"), Value::from("b")]))
    );
    assert_eq!(value(":v6"), Some(Value::from(0)));
    assert_eq!(value(":v9"), Some(Value::Ss(StringSet::from(["old"]))));
}

#[test]
fn update_scalars_become_sets_where_sets_are_needed() {
    let e = expression(
        &Update::new()
            .add("tags", "new")
            .delete_from_set("ids", 3)
            .add("n", 1),
    );
    let values: Vec<Value> = e.values.into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        values,
        [
            Value::Ss(StringSet::from(["new"])),
            Value::from(1),
            Value::Ns(crate::data::NumberSet::from([3])),
        ]
    );
}

#[test]
fn update_values_keep_empty_sets_and_repeats_for_dynamodb_to_refuse() {
    let e = expression(
        &Update::new()
            .set("a", StringSet::new())
            .add("tags", StringSet::from(["x", "x"]))
            .delete_from_set("ids", crate::data::NumberSet::new()),
    );
    let values: Vec<Value> = e.values.into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        values,
        [
            Value::Ss(StringSet::new()),
            Value::Ss(StringSet::from(["x", "x"])),
            Value::Ns(crate::data::NumberSet::new()),
        ]
    );
}

#[test]
fn empty_or_invalid_updates() {
    assert!(matches!(
        Update::new().to_expression(),
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        Update::new().set("a", f64::NAN).remove("b").to_expression(),
        Err(Error::Serialization(_))
    ));
    let merged = Update::new().set("a", 1).merge(Update::new().remove("b"));
    assert_eq!(expression(&merged).text, "SET #n0 = :v0 REMOVE #n1");
}

#[test]
fn generated_placeholders_skip_hand_written_ones() {
    let mut user = UserPlaceholders::default();
    user.name("#n0", "id");
    user.value(":v0", &1);
    let mut ph = Placeholders::with_user(&user).unwrap_or_else(|e| panic!("{e}"));
    let rendered = attr("status")
        .eq("x")
        .render(&mut ph)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rendered, "#n1 = :v1");
    let e = ph.into_expression(rendered);
    assert_eq!(e.names, names(&[("#n0", "id"), ("#n1", "status")]));
    assert_eq!(
        e.values,
        [
            (":v0".to_string(), Value::from(1)),
            (":v1".to_string(), Value::from("x"))
        ]
    );
}

#[test]
fn hand_written_placeholders_are_checked() {
    let mut user = UserPlaceholders::default();
    user.name("k", "id");
    assert!(matches!(
        Placeholders::with_user(&user),
        Err(Error::Validation(_))
    ));
    let mut user = UserPlaceholders::default();
    user.value("v", &1);
    assert!(matches!(
        Placeholders::with_user(&user),
        Err(Error::Validation(_))
    ));
    let mut user = UserPlaceholders::default();
    user.value(":v", &f64::NAN);
    assert!(matches!(
        Placeholders::with_user(&user),
        Err(Error::Serialization(_))
    ));
}
