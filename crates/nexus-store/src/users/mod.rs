//! Users: the stored record and its writes (`record`), the User with every
//! collection read in one statement (`aggregate`), and the list (`list`).

mod aggregate;
mod list;
mod record;

pub use aggregate::{get, get_many, get_with_roles, read, UserWithRoles};
pub(crate) use aggregate::{read_full_user, FullUser};
pub use list::{list, LIST};
pub use record::{
    delete, exists, get_record, get_record_for_update, id_by_email, insert, insert_many, lock,
    mark_email_verified, mark_verification_sent, mark_verification_sent_to, same_address, update,
};
