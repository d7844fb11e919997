//! An ordered, concurrent walk of a tree that is only known by asking: S3 prefixes and pages of
//! a listing (`scan s3://`), or accounts, regions, pages of resources and their attributes
//! (the audit). Each question is a request that waits on the network, so asking them one
//! after the other costs a round trip each; asking all of them at once would hold the whole
//! tree. This asks up to a bound at once, ahead in depth-first order, and hands the answers out
//! in exactly the order a sequential depth-first walk would, holding only what is in flight
//! and what is answered but not yet handed out.
//!
//! A tree is an `expand(node)` that answers a node with its [`Step`]s, in order: child nodes
//! (expanded in their turn) and leaves (handed out). The next page of a listing is simply a
//! child node placed last. An expansion that fails is handed out as an error in the place of
//! its subtree, and the walk goes on: the receiver decides whether to stop (by dropping it).

use std::collections::{HashMap, VecDeque};
use std::future::Future;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

/// What an expansion gives, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<N, L> {
    /// A node to expand in its turn: a prefix, a region, the next page of a listing.
    Node(N),
    /// Something to hand out.
    Leaf(L),
}

/// How far a walk may run ahead of the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// Expansions in flight at once (at least 1).
    pub in_flight: usize,
    /// A node is started only when it is among the first `ahead` entries of the frontier
    /// (leaves, errors, nodes waiting or in flight, in depth-first order) and fewer than
    /// `ahead` leaves and errors are held, not yet handed out. Without it, a slow receiver or
    /// one slow expansion at the head would let the others run on through the whole tree and
    /// hold it in memory; with it, the walk holds at most `ahead` leaves plus what the
    /// expansions in flight bring, and the nodes still to expand near the head (as the
    /// sequential walk holds the siblings along its path).
    pub ahead: usize,
}

impl Bound {
    /// `in_flight` at once, looking `4 * in_flight` entries ahead: room for one slow expansion
    /// at the head without holding the others back, as the scanner's window for reads.
    pub fn new(in_flight: usize) -> Bound {
        let in_flight = in_flight.max(1);
        Bound {
            in_flight,
            ahead: 4 * in_flight,
        }
    }
}

/// The frontier: what is left of the tree, in depth-first order. An expansion's answer
/// replaces its entry in place, as a nested list (or appended, when it is the last entry, so
/// that a chain of pages does not nest deeper with each page).
enum Entry<N, L, E> {
    Waiting(N),
    Running(u64),
    Leaf(L),
    Failed(E),
    Children(VecDeque<Entry<N, L, E>>),
}

type Answer<N, L, E> = Result<Vec<Step<N, L>>, E>;

/// Walks the trees under `roots` (in order), at most `bound.in_flight` expansions at once, and
/// sends each leaf, or the error of an expansion in the place of its subtree, to `out` in
/// depth-first order. Returns when everything is sent, or as soon as the receiver is gone
/// (expansions in flight are then dropped, which cancels them).
pub async fn walk<N, L, E, F, Fut>(
    roots: impl IntoIterator<Item = N>,
    bound: Bound,
    expand: F,
    out: mpsc::Sender<Result<L, E>>,
) where
    F: Fn(N) -> Fut,
    Fut: Future<Output = Answer<N, L, E>>,
{
    let in_flight = bound.in_flight.max(1);
    let mut frontier: VecDeque<_> = roots.into_iter().map(Entry::Waiting).collect();
    let mut held = Held {
        answered: HashMap::new(),
        leaves: 0,
        ahead: bound.ahead.max(1),
    };
    let mut started = 0u64;
    let mut running = FuturesUnordered::new();
    loop {
        if running.len() < in_flight {
            let mut room = in_flight - running.len();
            let mut start = |node: N| {
                if room == 0 {
                    return Err(node);
                }
                room -= 1;
                let (id, answer) = (started, expand(node));
                started += 1;
                running.push(async move { (id, answer.await) });
                Ok(id)
            };
            let mut visit = Visit {
                held: &mut held,
                seen: 0,
                done: false,
                start: &mut start,
            };
            visit.go(&mut frontier);
        }
        if settle(&mut frontier, &mut held) {
            // Finished expansions first, so that the next ones start as early as they can.
            tokio::select! {
                biased;
                Some((id, answer)) = running.next(), if !running.is_empty() => {
                    held.answer(id, answer);
                }
                permit = out.reserve() => match permit {
                    // `settle` said the head is a leaf, so there is one to send.
                    Ok(permit) => {
                        if let Some(next) = pop(&mut frontier) {
                            held.leaves -= 1;
                            permit.send(next);
                        }
                    }
                    Err(_) => return,
                },
            }
        } else if running.is_empty() {
            // Nothing to hand out and nothing in flight: done, or a node that an answer just
            // placed at the head is waiting, and starts on the next turn.
            if frontier.is_empty() {
                return;
            }
        } else {
            tokio::select! {
                Some((id, answer)) = running.next() => held.answer(id, answer),
                () = out.closed() => return,
            }
        }
    }
}

/// What the walk holds besides the frontier's shape.
struct Held<N, L, E> {
    /// Answers of expansions whose entry has not been reached yet: an answer is put in its
    /// place when the head or the look-ahead gets to it, not searched for when it arrives.
    answered: HashMap<u64, Answer<N, L, E>>,
    /// Leaves and errors held, placed or not.
    leaves: usize,
    ahead: usize,
}

impl<N, L, E> Held<N, L, E> {
    fn answer(&mut self, id: u64, answer: Answer<N, L, E>) {
        self.leaves += match &answer {
            Ok(steps) => steps.iter().filter(|s| matches!(s, Step::Leaf(_))).count(),
            Err(_) => 1,
        };
        self.answered.insert(id, answer);
    }
}

/// A pass over the head of the frontier that starts what the bound allows.
struct Visit<'a, N, L, E> {
    held: &'a mut Held<N, L, E>,
    /// Entries gone through so far (nested lists are gone through, not counted).
    seen: usize,
    /// Set when nothing more may start.
    done: bool,
    /// Starts a node and gives back the id it runs under, or gives the node back when there
    /// is no room.
    start: &'a mut dyn FnMut(N) -> Result<u64, N>,
}

impl<N, L, E> Visit<'_, N, L, E> {
    /// Goes through `entries` in order, placing the answers that arrived and starting waiting
    /// nodes, until `ahead` entries are seen, there is no room, or (past the head, which must
    /// always be able to start, or the walk would wait for nothing) `ahead` leaves are held.
    fn go(&mut self, entries: &mut VecDeque<Entry<N, L, E>>) {
        let mut i = 0;
        while i < entries.len() && !self.done {
            if self.seen >= self.held.ahead
                || (self.seen > 0 && self.held.leaves >= self.held.ahead)
            {
                self.done = true;
                return;
            }
            match &mut entries[i] {
                Entry::Running(id) => match self.held.answered.remove(id) {
                    // Gone through again as what it became.
                    Some(answer) => {
                        place(entries, i, answer);
                        continue;
                    }
                    None => self.seen += 1,
                },
                Entry::Children(children) => self.go(children),
                Entry::Leaf(_) | Entry::Failed(_) => self.seen += 1,
                entry @ Entry::Waiting(_) => {
                    self.seen += 1;
                    let Entry::Waiting(node) = std::mem::replace(entry, Entry::Running(u64::MAX))
                    else {
                        unreachable!("matched as waiting")
                    };
                    match (self.start)(node) {
                        Ok(id) => *entry = Entry::Running(id),
                        Err(node) => {
                            *entry = Entry::Waiting(node);
                            self.done = true;
                        }
                    }
                }
            }
            i += 1;
        }
    }
}

/// Puts `answer` in the place of entry `i`.
fn place<N, L, E>(entries: &mut VecDeque<Entry<N, L, E>>, i: usize, answer: Answer<N, L, E>) {
    let steps = match answer {
        Ok(steps) => steps,
        Err(e) => {
            entries[i] = Entry::Failed(e);
            return;
        }
    };
    let steps = steps.into_iter().map(|step| match step {
        Step::Node(node) => Entry::Waiting(node),
        Step::Leaf(leaf) => Entry::Leaf(leaf),
    });
    if i + 1 == entries.len() {
        entries.pop_back();
        entries.extend(steps);
    } else {
        entries[i] = Entry::Children(steps.collect());
    }
}

/// Brings a leaf or an error to the head if one is there to be had (placing the answers that
/// arrived, dropping emptied lists); whether there is one.
fn settle<N, L, E>(entries: &mut VecDeque<Entry<N, L, E>>, held: &mut Held<N, L, E>) -> bool {
    loop {
        match entries.front_mut() {
            None | Some(Entry::Waiting(_)) => return false,
            Some(Entry::Leaf(_) | Entry::Failed(_)) => return true,
            Some(Entry::Running(id)) => match held.answered.remove(id) {
                Some(answer) => place(entries, 0, answer),
                None => return false,
            },
            Some(Entry::Children(children)) => {
                if settle(children, held) {
                    return true;
                }
                if !children.is_empty() {
                    return false;
                }
                entries.pop_front();
            }
        }
    }
}

/// Takes the head leaf or error that [`settle`] brought up.
fn pop<N, L, E>(entries: &mut VecDeque<Entry<N, L, E>>) -> Option<Result<L, E>> {
    let taken = match entries.front_mut()? {
        Entry::Children(children) => {
            let taken = pop(children);
            if !children.is_empty() {
                return taken;
            }
            taken
        }
        _ => None,
    };
    match entries.pop_front()? {
        Entry::Leaf(leaf) => Some(Ok(leaf)),
        Entry::Failed(e) => Some(Err(e)),
        Entry::Children(_) => taken,
        Entry::Waiting(_) | Entry::Running(_) => unreachable!("not settled"),
    }
}

#[cfg(test)]
mod tests;
