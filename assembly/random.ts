// Placeholder: counter-based random numbers (Philox4x32-10); being written.
