//! Replays espefuse register traffic.
