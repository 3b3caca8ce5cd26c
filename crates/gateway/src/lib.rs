//! The chat gateway (placeholder; see issue "The golden path").
