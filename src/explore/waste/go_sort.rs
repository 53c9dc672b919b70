//! The order Go's `sort.Sort` (Go 1.19 and later; dive 0.13.1 is built with Go 1.24) leaves
//! dive's inefficient-file list in. That sort is pattern-defeating quicksort and not stable,
//! so paths of equal size come out in an order only the same steps reproduce: insertion sort
//! up to 12 elements, pivots by median of three (Tukey's ninther from 50), a check for input
//! already in order, a seeded xorshift shuffle after an unbalanced partition, heapsort past
//! the depth limit. Every comparison and swap below happens where Go's happens.

/// Sorts ascending by `key` exactly as Go's `sort.Sort` with `Less(i, j) = key(i) < key(j)`.
pub fn sort_ascending_by_key<T>(items: &mut [T], key: impl Fn(&T) -> i64) {
    let keys: Vec<i64> = items.iter().map(&key).collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    let mut s = Sorter {
        keys: &keys,
        order: &mut order,
    };
    let n = s.order.len();
    if n > 1 {
        s.pdqsort(0, n, bit_length(n));
    }
    permute(items, &order);
}

/// Puts `items[order[i]]` at position `i`.
fn permute<T>(items: &mut [T], order: &[usize]) {
    let mut done = vec![false; items.len()];
    for start in 0..items.len() {
        if done[start] {
            continue;
        }
        // Follow the cycle: position `at` takes the item from `order[at]`.
        let mut at = start;
        loop {
            done[at] = true;
            let from = order[at];
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

fn bit_length(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

struct Sorter<'a> {
    keys: &'a [i64],
    /// The list being sorted, as indices into `keys`.
    order: &'a mut [usize],
}

impl Sorter<'_> {
    fn less(&self, i: usize, j: usize) -> bool {
        self.keys[self.order[i]] < self.keys[self.order[j]]
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.order.swap(i, j);
    }

    fn insertion_sort(&mut self, a: usize, b: usize) {
        for i in a + 1..b {
            let mut j = i;
            while j > a && self.less(j, j - 1) {
                self.swap(j, j - 1);
                j -= 1;
            }
        }
    }

    fn sift_down(&mut self, lo: usize, hi: usize, first: usize) {
        let mut root = lo;
        loop {
            let mut child = 2 * root + 1;
            if child >= hi {
                return;
            }
            if child + 1 < hi && self.less(first + child, first + child + 1) {
                child += 1;
            }
            if !self.less(first + root, first + child) {
                return;
            }
            self.swap(first + root, first + child);
            root = child;
        }
    }

    fn heap_sort(&mut self, a: usize, b: usize) {
        let hi = b - a;
        for i in (0..=(hi.saturating_sub(1)) / 2).rev() {
            self.sift_down(i, hi, a);
        }
        for i in (0..hi).rev() {
            self.swap(a, a + i);
            self.sift_down(0, i, a);
        }
    }

    fn pdqsort(&mut self, mut a: usize, mut b: usize, mut limit: usize) {
        const MAX_INSERTION: usize = 12;
        let mut was_balanced = true;
        let mut was_partitioned = true;
        loop {
            let length = b - a;
            if length <= MAX_INSERTION {
                self.insertion_sort(a, b);
                return;
            }
            if limit == 0 {
                self.heap_sort(a, b);
                return;
            }
            if !was_balanced {
                self.break_patterns(a, b);
                limit -= 1;
            }
            let (mut pivot, mut hint) = self.choose_pivot(a, b);
            if hint == Hint::Decreasing {
                self.reverse_range(a, b);
                pivot = (b - 1) - (pivot - a);
                hint = Hint::Increasing;
            }
            if was_balanced
                && was_partitioned
                && hint == Hint::Increasing
                && self.partial_insertion_sort(a, b)
            {
                return;
            }
            if a > 0 && !self.less(a - 1, pivot) {
                a = self.partition_equal(a, b, pivot);
                continue;
            }
            let (mid, already) = self.partition(a, b, pivot);
            was_partitioned = already;
            let (left, right) = (mid - a, b - mid);
            let threshold = length / 8;
            if left < right {
                was_balanced = left >= threshold;
                self.pdqsort(a, mid, limit);
                a = mid + 1;
            } else {
                was_balanced = right >= threshold;
                self.pdqsort(mid + 1, b, limit);
                b = mid;
            }
        }
    }

    /// One partition around `order[pivot]`, moved to `a` first; returns its final place and
    /// whether nothing had to move.
    fn partition(&mut self, a: usize, b: usize, pivot: usize) -> (usize, bool) {
        self.swap(a, pivot);
        // i and j are inclusive; j may step below a + 1 to a, hence signed.
        let (mut i, mut j) = (a as isize + 1, b as isize - 1);
        let less = |s: &Self, x: isize| s.less(x as usize, a);
        while i <= j && less(self, i) {
            i += 1;
        }
        while i <= j && !less(self, j) {
            j -= 1;
        }
        if i > j {
            self.swap(j as usize, a);
            return (j as usize, true);
        }
        self.swap(i as usize, j as usize);
        i += 1;
        j -= 1;
        loop {
            while i <= j && less(self, i) {
                i += 1;
            }
            while i <= j && !less(self, j) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i as usize, j as usize);
            i += 1;
            j -= 1;
        }
        self.swap(j as usize, a);
        (j as usize, false)
    }

    /// Splits `[a, b)`, which holds nothing below the pivot, into the elements equal to it and
    /// those above; returns where the latter start.
    fn partition_equal(&mut self, a: usize, b: usize, pivot: usize) -> usize {
        self.swap(a, pivot);
        let (mut i, mut j) = (a as isize + 1, b as isize - 1);
        loop {
            while i <= j && !self.less(a, i as usize) {
                i += 1;
            }
            while i <= j && self.less(a, j as usize) {
                j -= 1;
            }
            if i > j {
                break;
            }
            self.swap(i as usize, j as usize);
            i += 1;
            j -= 1;
        }
        i as usize
    }

    /// Fixes up to five out-of-order neighbours (only in ranges of 50 or more); true when the
    /// range ends up sorted.
    fn partial_insertion_sort(&mut self, a: usize, b: usize) -> bool {
        const MAX_STEPS: usize = 5;
        const SHORTEST_SHIFTING: usize = 50;
        let mut i = a + 1;
        for _ in 0..MAX_STEPS {
            while i < b && !self.less(i, i - 1) {
                i += 1;
            }
            if i == b {
                return true;
            }
            if b - a < SHORTEST_SHIFTING {
                return false;
            }
            self.swap(i, i - 1);
            if i - a >= 2 {
                // Go walks down to index 1 of the whole list here, not to `a`.
                let mut j = i - 1;
                while j >= 1 {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.swap(j, j - 1);
                    j -= 1;
                }
            }
            if b - i >= 2 {
                for j in i + 1..b {
                    if !self.less(j, j - 1) {
                        break;
                    }
                    self.swap(j, j - 1);
                }
            }
        }
        false
    }

    fn break_patterns(&mut self, a: usize, b: usize) {
        let length = b - a;
        if length < 8 {
            return;
        }
        let mut random = length as u64;
        let modulus = 1usize << bit_length(length);
        let middle = a + (length / 4) * 2;
        for idx in middle - 1..=middle + 1 {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let mut other = (random as usize) & (modulus - 1);
            if other >= length {
                other -= length;
            }
            self.swap(idx, a + other);
        }
    }

    fn choose_pivot(&mut self, a: usize, b: usize) -> (usize, Hint) {
        const SHORTEST_NINTHER: usize = 50;
        const MAX_SWAPS: usize = 4 * 3;
        let l = b - a;
        let mut swaps = 0;
        let (mut i, mut j, mut k) = (a + l / 4, a + l / 4 * 2, a + l / 4 * 3);
        if l >= 8 {
            if l >= SHORTEST_NINTHER {
                i = self.median(i - 1, i, i + 1, &mut swaps);
                j = self.median(j - 1, j, j + 1, &mut swaps);
                k = self.median(k - 1, k, k + 1, &mut swaps);
            }
            j = self.median(i, j, k, &mut swaps);
        }
        let hint = match swaps {
            0 => Hint::Increasing,
            MAX_SWAPS => Hint::Decreasing,
            _ => Hint::Unknown,
        };
        (j, hint)
    }

    /// The index of the median of three, counting the comparisons that found an inversion.
    fn median(&self, a: usize, b: usize, c: usize, swaps: &mut usize) -> usize {
        let mut order2 = |x: usize, y: usize| {
            if self.less(y, x) {
                *swaps += 1;
                (y, x)
            } else {
                (x, y)
            }
        };
        let (a, b) = order2(a, b);
        let (b, _) = order2(b, c);
        let (_, b) = order2(a, b);
        b
    }

    fn reverse_range(&mut self, a: usize, b: usize) {
        let (mut i, mut j) = (a, b - 1);
        while i < j {
            self.swap(i, j);
            i += 1;
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `sort.Sort` leaves equal elements where an insertion sort would, up to 12.
    #[test]
    fn short_lists_keep_equal_elements_in_order() {
        let mut v: Vec<(i64, usize)> = [5, 1, 5, 3, 1, 5].iter().copied().zip(0..).collect();
        sort_ascending_by_key(&mut v, |x| x.0);
        assert_eq!(v, [(1, 1), (1, 4), (3, 3), (5, 0), (5, 2), (5, 5)]);
    }

    #[test]
    fn long_lists_come_out_sorted() {
        for n in [13, 50, 51, 200, 1000] {
            let mut v: Vec<(i64, usize)> = (0..n).map(|i| (((i * 7919) % 13) as i64, i)).collect();
            sort_ascending_by_key(&mut v, |x| x.0);
            assert!(v.windows(2).all(|w| w[0].0 <= w[1].0), "n={n}");
            let mut ids: Vec<usize> = v.iter().map(|x| x.1).collect();
            ids.sort();
            assert_eq!(ids, (0..n).collect::<Vec<_>>(), "a permutation, n={n}");
        }
    }
}
