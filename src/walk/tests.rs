//! The walk against the sequential depth-first walk it stands for, on generated trees whose
//! expansions take turns (a random number of yields each, on one thread), so that they finish
//! in every order.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use tokio::sync::mpsc;
use tokio::task::yield_now;

use super::{walk, Bound, Step};

/// A tree in an arena: node `i`'s children, whether expanding it fails, and how many turns its
/// expansion takes.
#[derive(Debug, Clone)]
struct Tree {
    nodes: Vec<Spec>,
    roots: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Spec {
    children: Vec<Step<usize, u32>>,
    fails: bool,
    turns: u8,
}

/// A small deterministic generator, so that proptest shrinks the seed and the shape.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

impl Tree {
    fn generate(seed: u64, depth: u32, fanout: u64) -> Tree {
        let mut rng = Rng(seed);
        let mut tree = Tree {
            nodes: Vec::new(),
            roots: Vec::new(),
        };
        let mut leaf = 0u32;
        for _ in 0..=rng.below(3) {
            let root = tree.node(&mut rng, depth, fanout, &mut leaf);
            tree.roots.push(root);
        }
        tree
    }

    fn node(&mut self, rng: &mut Rng, depth: u32, fanout: u64, leaf: &mut u32) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Spec {
            children: Vec::new(),
            fails: rng.below(12) == 0,
            turns: rng.below(6) as u8,
        });
        let mut children = Vec::new();
        for _ in 0..rng.below(fanout + 1) {
            if depth > 0 && rng.below(3) > 0 {
                children.push(Step::Node(self.node(rng, depth - 1, fanout, leaf)));
            } else {
                *leaf += 1;
                children.push(Step::Leaf(*leaf));
            }
        }
        self.nodes[id].children = children;
        id
    }

    /// What a sequential depth-first walk hands out: each leaf, and each failed node's error in
    /// the place of its subtree.
    fn sequential(&self) -> Vec<Result<u32, usize>> {
        fn go(tree: &Tree, node: usize, out: &mut Vec<Result<u32, usize>>) {
            if tree.nodes[node].fails {
                out.push(Err(node));
                return;
            }
            for child in &tree.nodes[node].children {
                match child {
                    Step::Node(n) => go(tree, *n, out),
                    Step::Leaf(l) => out.push(Ok(*l)),
                }
            }
        }
        let mut out = Vec::new();
        for root in &self.roots {
            go(self, *root, &mut out);
        }
        out
    }
}

/// Expansions counted: how many ran, how many at once now, and the most at once.
#[derive(Default)]
struct Counts {
    expanded: AtomicUsize,
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Counts {
    async fn expand(&self, tree: &Tree, node: usize) -> Result<Vec<Step<usize, u32>>, usize> {
        self.expanded.fetch_add(1, Ordering::SeqCst);
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        let spec = &tree.nodes[node];
        for _ in 0..spec.turns {
            yield_now().await;
        }
        self.now.fetch_sub(1, Ordering::SeqCst);
        match spec.fails {
            true => Err(node),
            false => Ok(spec.children.clone()),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Walks `tree` and collects what comes out, reading one item every `pace` turns.
fn concurrent(tree: &Tree, bound: Bound, pace: u8, counts: &Counts) -> Vec<Result<u32, usize>> {
    runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        let walking = walk(
            tree.roots.clone(),
            bound,
            |node| counts.expand(tree, node),
            tx,
        );
        let reading = async {
            let mut got = Vec::new();
            while let Some(item) = rx.recv().await {
                got.push(item);
                for _ in 0..pace {
                    yield_now().await;
                }
            }
            got
        };
        tokio::join!(walking, reading).1
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the tree, the bound and the order in which expansions finish, the walk hands
    /// out what the sequential walk does, in its order, errors in their place; never more
    /// than the bound at once; every node of the tree expanded once (none failed twice, none
    /// skipped).
    #[test]
    fn the_walk_hands_out_what_the_sequential_walk_does(
        seed in any::<u64>(),
        depth in 0..5u32,
        fanout in 0..6u64,
        in_flight in 1..9usize,
        ahead in 1..40usize,
        pace in 0..4u8,
    ) {
        let tree = Tree::generate(seed, depth, fanout);
        let counts = Counts::default();
        let got = concurrent(&tree, Bound { in_flight, ahead }, pace, &counts);
        prop_assert_eq!(got, tree.sequential());
        prop_assert!(counts.most.load(Ordering::SeqCst) <= in_flight);
        let reachable = {
            let mut n = 0;
            let mut stack = tree.roots.clone();
            while let Some(node) = stack.pop() {
                n += 1;
                if !tree.nodes[node].fails {
                    stack.extend(tree.nodes[node].children.iter().filter_map(|c| match c {
                        Step::Node(n) => Some(*n),
                        Step::Leaf(_) => None,
                    }));
                }
            }
            n
        };
        prop_assert_eq!(counts.expanded.load(Ordering::SeqCst), reachable);
    }
}

/// A root with `width` children, each expansion taking a few turns.
fn wide(width: usize) -> Tree {
    let mut nodes = vec![Spec {
        children: (1..=width).map(Step::Node).collect(),
        fails: false,
        turns: 0,
    }];
    for i in 1..=width {
        nodes.push(Spec {
            children: vec![Step::Leaf(i as u32)],
            fails: false,
            turns: 3,
        });
    }
    Tree {
        nodes,
        roots: vec![0],
    }
}

/// The bound is reached, not only respected: the walk is concurrent.
#[test]
fn the_bound_is_reached_and_never_passed() {
    for in_flight in [1, 3, 8] {
        let tree = wide(100);
        let counts = Counts::default();
        let got = concurrent(&tree, Bound::new(in_flight), 0, &counts);
        assert_eq!(got, tree.sequential());
        assert_eq!(counts.most.load(Ordering::SeqCst), in_flight);
    }
}

#[test]
fn an_error_comes_out_in_the_place_of_its_subtree_and_the_walk_goes_on() {
    let leaf = |children: Vec<Step<usize, u32>>, fails| Spec {
        children,
        fails,
        turns: 0,
    };
    let tree = Tree {
        nodes: vec![
            leaf(vec![Step::Leaf(1), Step::Node(1), Step::Leaf(4)], false),
            leaf(vec![Step::Leaf(2), Step::Leaf(3)], true),
            leaf(vec![Step::Leaf(5)], false),
        ],
        roots: vec![0, 2],
    };
    let got = concurrent(&tree, Bound::new(4), 0, &Counts::default());
    assert_eq!(got, [Ok(1), Err(1), Ok(4), Ok(5)]);
}

/// Node `n` of an endless binary tree: a leaf, then two nodes. Its expansion takes a turn.
async fn endless(n: u64, expanded: &AtomicUsize) -> Result<Vec<Step<u64, u64>>, ()> {
    expanded.fetch_add(1, Ordering::SeqCst);
    yield_now().await;
    Ok(vec![
        Step::Leaf(n),
        Step::Node(2 * n + 1),
        Step::Node(2 * n + 2),
    ])
}

/// A receiver that reads nothing holds the walk to its look-ahead: an endless tree is not
/// walked on into memory.
#[test]
fn a_receiver_that_does_not_read_holds_the_walk_back() {
    let expanded = AtomicUsize::new(0);
    let bound = Bound::new(4);
    runtime().block_on(async {
        let (tx, _rx) = mpsc::channel(1);
        let walking = walk([0u64], bound, |n| endless(n, &expanded), tx);
        let waiting = async {
            for _ in 0..10_000 {
                yield_now().await;
            }
        };
        tokio::select! {
            () = walking => panic!("an endless walk ended"),
            () = waiting => {}
        }
    });
    let expanded = expanded.load(Ordering::SeqCst);
    assert!(
        expanded > bound.in_flight && expanded <= bound.ahead + bound.in_flight + 2,
        "{expanded} expansions"
    );
}

/// Dropping the receiver ends the walk, with the expansions in flight.
#[test]
fn the_walk_stops_when_the_receiver_is_gone() {
    let expanded = AtomicUsize::new(0);
    let got = runtime().block_on(async {
        let (tx, mut rx) = mpsc::channel(1);
        let walking = walk([0u64], Bound::new(8), |n| endless(n, &expanded), tx);
        let reading = async move {
            let mut got = Vec::new();
            while got.len() < 10 {
                got.push(rx.recv().await.unwrap().unwrap());
            }
            got
        };
        tokio::join!(walking, reading).1
    });
    // Depth-first: the leftmost path first.
    assert_eq!(got, [0, 1, 3, 7, 15, 31, 63, 127, 255, 511]);
    let expanded = expanded.load(Ordering::SeqCst);
    assert!(expanded < 100, "{expanded} expansions");
}

/// A node that an answer puts at the head is started even when later expansions already hold
/// `ahead` leaves: the head is what everything waits for.
#[test]
fn the_head_starts_whatever_is_held_behind_it() {
    let spec = |children: Vec<Step<usize, u32>>, turns| Spec {
        children,
        fails: false,
        turns,
    };
    let tree = Tree {
        nodes: vec![
            spec(vec![Step::Node(1), Step::Node(2)], 0),
            // Slow, and its answer is a node.
            spec(vec![Step::Node(3)], 50),
            spec((10..30).map(Step::Leaf).collect(), 0),
            spec(vec![Step::Leaf(1)], 0),
        ],
        roots: vec![0],
    };
    let bound = Bound {
        in_flight: 2,
        ahead: 4,
    };
    let got = concurrent(&tree, bound, 0, &Counts::default());
    assert_eq!(got, tree.sequential());
}
