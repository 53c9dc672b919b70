//! The order Go's `sort.Sort` leaves dive's inefficient-file list in.
//!
//! Go sorts slices of up to 12 elements by insertion sort, which keeps equal elements in their
//! original order; a stable sort gives exactly that order.

/// Sorts ascending by `key` as Go's `sort.Sort` with `Less = key(i) < key(j)` would.
pub fn sort_ascending_by_key<T>(items: &mut [T], key: impl Fn(&T) -> i64) {
    items.sort_by_key(|item| key(item));
}
