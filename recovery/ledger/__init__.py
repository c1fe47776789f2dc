"""The append-only event ledger: recording events, projecting current state, replaying any past moment."""
