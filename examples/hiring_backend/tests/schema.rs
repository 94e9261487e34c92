//! The backend's schema contains the agent's (`graphql/schema.graphql`): every object type
//! with its fields (same type strings, same arguments), every input type with its fields and
//! every enum with its values.

use std::collections::{BTreeMap, BTreeSet};

use graphql_parser::schema::{parse_schema, Definition, Document, TypeDefinition};

const AGENT_SCHEMA: &str = include_str!("../../../graphql/schema.graphql");

/// Type name -> member name -> type string (`field(arg: T): R` for fields with arguments;
/// empty for enum values).
type Shape = BTreeMap<String, BTreeMap<String, String>>;

fn shape(doc: &Document<'_, String>) -> Shape {
    let mut out = Shape::new();
    for def in &doc.definitions {
        let Definition::TypeDefinition(t) = def else {
            continue;
        };
        let (name, members): (&String, BTreeMap<String, String>) = match t {
            TypeDefinition::Object(o) => (
                &o.name,
                o.fields
                    .iter()
                    .map(|f| {
                        let args: Vec<String> = f
                            .arguments
                            .iter()
                            .map(|a| format!("{}: {}", a.name, a.value_type))
                            .collect();
                        (
                            f.name.clone(),
                            format!("({}) {}", args.join(", "), f.field_type),
                        )
                    })
                    .collect(),
            ),
            TypeDefinition::InputObject(i) => (
                &i.name,
                i.fields
                    .iter()
                    .map(|f| (f.name.clone(), f.value_type.to_string()))
                    .collect(),
            ),
            TypeDefinition::Enum(e) => (
                &e.name,
                e.values
                    .iter()
                    .map(|v| (v.name.clone(), String::new()))
                    .collect(),
            ),
            TypeDefinition::Scalar(s) => (&s.name, BTreeMap::new()),
            TypeDefinition::Interface(i) => (&i.name, BTreeMap::new()),
            TypeDefinition::Union(u) => (&u.name, BTreeMap::new()),
        };
        out.insert(name.clone(), members);
    }
    out
}

#[test]
fn backend_schema_contains_the_agent_schema() {
    let agent_doc = parse_schema::<String>(AGENT_SCHEMA).expect("agent schema parses");
    let sdl = hiring_backend::schema::sdl();
    let backend_doc = parse_schema::<String>(&sdl).expect("backend SDL parses");
    let agent = shape(&agent_doc);
    let backend = shape(&backend_doc);

    let mut problems = Vec::new();
    for (ty, members) in &agent {
        let Some(ours) = backend.get(ty) else {
            problems.push(format!("type {ty} is missing"));
            continue;
        };
        for (member, sig) in members {
            match ours.get(member) {
                None => problems.push(format!("{ty}.{member} is missing")),
                Some(s) if s != sig => {
                    problems.push(format!("{ty}.{member}: agent {sig:?}, backend {s:?}"))
                }
                Some(_) => {}
            }
        }
        // Input types and enums must match exactly: an extra required input field would
        // break the agent's requests, an extra enum value its responses.
        let exact = agent_doc.definitions.iter().any(|d| {
            matches!(d, Definition::TypeDefinition(TypeDefinition::InputObject(i)) if &i.name == ty)
                || matches!(d, Definition::TypeDefinition(TypeDefinition::Enum(e)) if &e.name == ty)
        });
        if exact {
            let a: BTreeSet<_> = members.keys().collect();
            let b: BTreeSet<_> = ours.keys().collect();
            if a != b {
                problems.push(format!("{ty}: agent has {a:?}, backend {b:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}\n\nbackend SDL:\n{sdl}");

    // The extra operations are there too.
    for (ty, field) in [
        ("Query", "interviewResults"),
        ("Query", "webhookEvents"),
        ("Mutation", "createApplication"),
        ("Mutation", "createInterviewRoom"),
        ("Mutation", "getRoomToken"),
    ] {
        assert!(backend[ty].contains_key(field), "{ty}.{field}");
    }
    assert_eq!(
        backend["Mutation"]["getRoomToken"],
        "(applicationId: ID!, password: String!) RoomToken!"
    );
    assert_eq!(
        backend["Query"]["webhookEvents"],
        "(room: String) [WebhookEvent!]!"
    );
}
