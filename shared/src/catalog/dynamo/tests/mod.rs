//! Tests of the DynamoDB catalog against the local stack: the conformance suite, then what is
//! specific to this backend.

mod backend;
mod register;

mod conformance {
    crate::catalog_test_suite!(crate::testing::dynamo::catalog().await);
}
