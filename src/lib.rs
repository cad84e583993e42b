//! Empty: this package exists to hold guardld's integration tests in `tests/`.
