//! Identity rules beyond the value types: sign-up and profile changes (to be written).
