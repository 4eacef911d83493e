//! Placeholder until tools/gen_ari.py's output lands.
