// Placeholder: packed, register-blocked SIMD matmul; being written.
