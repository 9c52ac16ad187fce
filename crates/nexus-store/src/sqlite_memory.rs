//! SQLite allocates through mimalloc. By default it calls the C library's
//! `malloc`, and glibc hands memory back to the kernel whenever the top of a
//! heap falls free and faults it in again on the next statement; under load
//! the profile showed a tenth of the server's time in page faults and TLB
//! shoot-downs from SQLite's page cache and statement memory (README,
//! Performance). mimalloc (the server's Rust allocator too) keeps freed
//! memory per thread for reuse.

use std::ffi::{c_int, c_void};
use std::sync::Once;

use libmimalloc_sys as mi;
use rusqlite::ffi;

/// Installs the allocator, once, before SQLite initializes; when it has
/// initialized already (something opened a database first), SQLite keeps
/// its own and says so.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(malloc),
            xFree: Some(free),
            xRealloc: Some(realloc),
            xSize: Some(size),
            xRoundup: Some(roundup),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to the methods and
        // copies them; `Once` keeps this call from racing another.
        let code = unsafe {
            ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_MALLOC,
                &methods as *const ffi::sqlite3_mem_methods,
            )
        };
        if code != ffi::SQLITE_OK {
            tracing::warn!(
                code,
                "SQLite was initialized already: it keeps the C allocator"
            );
        }
    });
}

// SQLite never asks for zero or negative sizes, nor passes null to free or
// realloc (its own wrappers handle those cases before calling these).

unsafe extern "C" fn malloc(size: c_int) -> *mut c_void {
    unsafe { mi::mi_malloc(size as usize) }
}

unsafe extern "C" fn free(pointer: *mut c_void) {
    unsafe { mi::mi_free(pointer) }
}

unsafe extern "C" fn realloc(pointer: *mut c_void, size: c_int) -> *mut c_void {
    unsafe { mi::mi_realloc(pointer, size as usize) }
}

unsafe extern "C" fn size(pointer: *mut c_void) -> c_int {
    unsafe { mi::mi_usable_size(pointer) as c_int }
}

unsafe extern "C" fn roundup(size: c_int) -> c_int {
    unsafe { mi::mi_good_size(size as usize) as c_int }
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn shutdown(_: *mut c_void) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_allocates_through_mimalloc() {
        install();
        // mimalloc rounds 1,000 bytes up to its size class; SQLite's own
        // allocator would report the 1,000 (rounded to 8) it asked for.
        let class = unsafe { mi::mi_good_size(1000) };
        assert_ne!(class, 1000);
        let pointer = unsafe { ffi::sqlite3_malloc(1000) };
        assert!(!pointer.is_null());
        let size = unsafe { ffi::sqlite3_msize(pointer) };
        unsafe { ffi::sqlite3_free(pointer) };
        assert_eq!(size, class as u64);
    }
}
