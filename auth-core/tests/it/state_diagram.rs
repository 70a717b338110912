//! The state diagram in the user guide must match the state machine: every user-state
//! change the pure transition function can make appears as an edge, and the diagram has no
//! edge the machine cannot make.

use std::collections::{BTreeSet, HashSet, VecDeque};

use auth_core::machine::{Event, MachineState, SessionKind, transition};

fn events() -> Vec<Event> {
    let kinds =
        [SessionKind::None, SessionKind::UserPool, SessionKind::Federated { provider: "p".into() }];
    let mut events = vec![
        Event::SignedOut,
        Event::TokensNeeded,
        Event::TokenRefreshSucceeded,
        Event::TokenRefreshRejected,
        Event::TokenRefreshFailed,
        Event::CredentialsRefreshSucceeded,
        Event::CredentialsRefreshRejected,
        Event::CredentialsRefreshFailed,
        Event::ReleaseRequested,
    ];
    for kind in &kinds {
        events.push(Event::Initialized { session: kind.clone() });
    }
    for kind in &kinds[1..] {
        events.push(Event::SignedIn { session: kind.clone() });
    }
    for flag in [false, true] {
        events.push(Event::CredentialsNeeded { federated_token_valid: flag });
        events.push(Event::ConnectivityChanged { online: flag });
    }
    events
}

/// Every (from, to) user-state change reachable from a fresh machine.
fn machine_edges() -> BTreeSet<(String, String)> {
    let mut seen = HashSet::new();
    let mut queue: VecDeque<MachineState> = [false, true]
        .into_iter()
        .flat_map(|guest| [false, true].map(move |online| MachineState::new(guest, online)))
        .collect();
    let mut edges = BTreeSet::new();
    while let Some(state) = queue.pop_front() {
        if !seen.insert(state.clone()) {
            continue;
        }
        for event in events() {
            // Initialisation happens once, from Unknown.
            let initializing = matches!(event, Event::Initialized { .. });
            if initializing != (state.user_state() == auth_core::UserState::Unknown) {
                continue;
            }
            let (next, _) = transition(&state, &event);
            if next.user_state() != state.user_state() {
                edges.insert((
                    format!("{:?}", state.user_state()),
                    format!("{:?}", next.user_state()),
                ));
            }
            queue.push_back(next);
        }
    }
    edges
}

/// The `A --> B` edges of the mermaid diagram in the user guide.
fn diagram_edges() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/src/user-states.md");
    let text = std::fs::read_to_string(path).expect("docs/src/user-states.md");
    let diagram = text
        .split("```mermaid")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a mermaid block");
    diagram
        .lines()
        .filter_map(|line| {
            let (from, rest) = line.trim().split_once("-->")?;
            let to = rest.split(':').next()?.trim();
            let from = from.trim();
            (from != "[*]").then(|| (from.to_owned(), to.to_owned()))
        })
        .collect()
}

#[test]
fn the_documented_state_diagram_matches_the_machine() {
    let machine = machine_edges();
    let diagram = diagram_edges();
    let missing: Vec<_> = machine.difference(&diagram).collect();
    let extra: Vec<_> = diagram.difference(&machine).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing from the diagram: {missing:?}\nnot in the machine: {extra:?}"
    );
}
