//! Test support: placeholder replaced below.
