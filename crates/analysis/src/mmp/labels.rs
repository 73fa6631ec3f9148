//! The attachment labels of a pair's transform and constant, as mmpdb 3.1's `cansmirks`
//! writes them (mmpdblib/index_algorithm.py): fragment records hold unlabelled parts with the
//! variable's symmetry class and its canonical attachment order (which constant piece each
//! `*` connects to); a pair's left variable is labelled `[*:1]`, `[*:2]`, `[*:3]` in the order
//! its `*`s are written, and the right variable and the constant so that labels match up
//! through the constant, choosing, among the ways the three symmetries allow, the smallest
//! label sequence for the right variable (then for the constant). So one change through
//! different constants is written as one transform.

/// Position maps of a symmetry class's permutations (`q[i] = p[map[i]]`), as mmpdb's
/// `sym11`…`sym123`; a class without equivalent points has only the identity.
fn symmetries(class: &str) -> &'static [[usize; 3]] {
    const IDENTITY: &[[usize; 3]] = &[[0, 1, 2]];
    match class {
        "11" => &[[0, 1, 2], [1, 0, 2]],
        "111" => &[
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 1, 0],
            [2, 0, 1],
        ],
        "112" => &[[0, 1, 2], [1, 0, 2]],
        "121" => &[[0, 1, 2], [2, 1, 0]],
        "122" => &[[0, 1, 2], [0, 2, 1]],
        _ => IDENTITY,
    }
}

/// mmpdb's `get_symmetry_class` of a constant's pieces: which are equal.
pub(super) fn symmetry_class(pieces: &[&str]) -> &'static str {
    match pieces {
        [a, b] if a == b => "11",
        [_, _] => "12",
        [a, b, c] if a == b && b == c => "111",
        [a, b, _] if a == b => "112",
        [a, _, c] if a == c => "121",
        [_, b, c] if b == c => "122",
        [_, _, _] => "123",
        _ => "1",
    }
}

/// The digits of an attachment order (`"120"` → `[1, 2, 0]`).
fn digits(order: &str) -> [usize; 3] {
    let mut out = [0, 1, 2];
    for (o, d) in out.iter_mut().zip(order.bytes()) {
        *o = usize::from(d.saturating_sub(b'0')).min(2);
    }
    out
}

/// `q[i] = p[map[i]]` for the first `n` positions.
fn reorder(p: [usize; 3], map: [usize; 3], n: usize) -> [usize; 3] {
    let mut q = p;
    for i in 0..n {
        q[i] = p[map[i]];
    }
    q
}

/// mmpdb's `_get_smirks_order`: for a pair whose left variable has symmetry class `sym1` and
/// attachment order `order1`, right variable `sym2`/`order2`, and a constant of class
/// `constant_sym`, the label (0-based) of each `*` of the right variable and of each constant
/// piece, the left variable's `*`s being labelled in order.
pub(super) fn smirks_order(
    sym1: &str,
    order1: &str,
    constant_sym: &str,
    sym2: &str,
    order2: &str,
) -> ([usize; 3], [usize; 3]) {
    let n = sym1.len();
    let (order1, order2) = (digits(order1), digits(order2));
    // invert_order: for each constant piece, the left variable's point connected to it.
    let mut inverse = [0, 1, 2];
    for (i, &piece) in order1.iter().enumerate().take(n) {
        inverse[piece] = i;
    }
    let mut best: Option<([usize; 3], [usize; 3])> = None;
    for s1 in symmetries(sym1) {
        let on_constant = reorder(reorder([0, 1, 2], *s1, n), inverse, n);
        for c in symmetries(constant_sym) {
            let constant = reorder(on_constant, *c, n);
            let on_right = reorder(constant, order2, n);
            for s2 in symmetries(sym2) {
                let right = reorder(on_right, *s2, n);
                let candidate = (right, constant);
                let key = |(r, c): &([usize; 3], [usize; 3])| (r[..n].to_vec(), c[..n].to_vec());
                if best.as_ref().is_none_or(|b| key(&candidate) < key(b)) {
                    best = Some(candidate);
                }
            }
        }
    }
    best.unwrap_or(([0, 1, 2], [0, 1, 2]))
}

/// mmpdb's `relabel`: the i-th `*` (or `[*]`) of `smiles` becomes `[*:labels[i]+1]`.
pub(super) fn relabel(smiles: &str, labels: &[usize]) -> String {
    let mut out = String::with_capacity(smiles.len() + 8);
    let mut next = labels.iter();
    let mut rest = smiles;
    while let Some(at) = rest.find('*') {
        let bracketed = at > 0 && rest[at - 1..].starts_with("[*]");
        let start = if bracketed { at - 1 } else { at };
        out.push_str(&rest[..start]);
        let label = next.next().copied().unwrap_or(0) + 1;
        out.push_str("[*:");
        out.push_str(&label.to_string());
        out.push(']');
        rest = &rest[if bracketed { at + 2 } else { at + 1 }..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(sym1: &str, o1: &str, c: &str, sym2: &str, o2: &str) -> (String, String) {
        let (r, k) = smirks_order(sym1, o1, c, sym2, o2);
        let n = sym1.len();
        let text = |v: [usize; 3]| v[..n].iter().map(|d| d.to_string()).collect::<String>();
        (text(r), text(k))
    }

    #[test]
    fn smirks_orders_equal_mmpdbs_table() {
        // Entries of mmpdb 3.1.4's cansmirks_table.py (key: sym1 + order1 + constant class +
        // sym2 + order2).
        for (key, expected) in [
            ("1201121101", ("01", "01")),
            ("1110111110", ("01", "01")),
            ("1210111110", ("01", "01")),
            ("1101111210", ("01", "10")),
            ("1101121101", ("01", "01")),
            ("123210112112120", ("012", "210")),
            ("111210111122120", ("012", "102")),
            ("122021123123021", ("012", "021")),
            ("111120111123021", ("012", "021")),
            ("123120122121201", ("021", "201")),
            ("112210122122012", ("201", "201")),
            ("111102111112021", ("012", "021")),
            ("111201122121102", ("012", "102")),
            ("122210122121012", ("012", "210")),
            ("122201123111210", ("012", "120")),
        ] {
            let n = key.len() / 5;
            let (s1, rest) = key.split_at(n);
            let (o1, rest) = rest.split_at(n);
            let (c, rest) = rest.split_at(n);
            let (s2, o2) = rest.split_at(n);
            let got = order(s1, o1, c, s2, o2);
            assert_eq!(
                (got.0.as_str(), got.1.as_str()),
                expected,
                "{key}: {s1} {o1} {c} {s2} {o2}"
            );
        }
    }

    #[test]
    fn relabel_numbers_wildcards_in_order() {
        assert_eq!(relabel("*c1ccc(*)cc1", &[1, 0]), "[*:2]c1ccc([*:1])cc1");
        assert_eq!(relabel("[*][H]", &[0]), "[*:1][H]");
        assert_eq!(relabel("*C.*C.*O", &[2, 0, 1]), "[*:3]C.[*:1]C.[*:2]O");
    }

    #[test]
    fn constant_classes_say_which_pieces_are_equal() {
        assert_eq!(symmetry_class(&["*C", "*C"]), "11");
        assert_eq!(symmetry_class(&["*C", "*C", "*O"]), "112");
        assert_eq!(symmetry_class(&["*C", "*O", "*C"]), "121");
        assert_eq!(symmetry_class(&["*O", "*C", "*C"]), "122");
        assert_eq!(symmetry_class(&["*N", "*C", "*O"]), "123");
    }
}
