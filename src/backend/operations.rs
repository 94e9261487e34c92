//! The typed GraphQL operations the agent sends to the hiring backend, generated at compile
//! time from the contract in `graphql/` (`schema.graphql` plus one file per operation). A
//! change to the schema or an operation that does not fit the other breaks the build, not a
//! live interview. Conversions to and from the interview types live in `convert`.

use graphql_client::GraphQLQuery;

/// The schema's `ID` scalar: an opaque string.
#[allow(clippy::upper_case_acronyms)]
pub type ID = String;

/// `query ApplicationQuery($id: ID!)`: the application an interview is for (null: unknown).
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "graphql/schema.graphql",
    query_path = "graphql/application.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct ApplicationQuery;

/// `mutation SaveInterviewResult($input: InterviewResultInput!)`: store an interview's result
/// (idempotent on `idempotencyKey`).
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "graphql/schema.graphql",
    query_path = "graphql/save_result.graphql",
    response_derives = "Debug, Clone, PartialEq",
    variables_derives = "Debug, Clone, PartialEq"
)]
pub struct SaveInterviewResult;
