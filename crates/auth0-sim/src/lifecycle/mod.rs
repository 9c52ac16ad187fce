//! The account lifecycle: passwords and their policy, password logins with
//! brute-force protection, user blocks, password-change tickets,
//! verification e-mails, MFA enrollment (tickets and the MFA API), and the inbox of the e-mails Auth0 would have sent
//! with the pages their links open.

pub(crate) mod emails;
pub(crate) mod jobs;
pub(crate) mod mfa;
pub(crate) mod passwords;
pub(crate) mod tickets;
pub(crate) mod user_blocks;
