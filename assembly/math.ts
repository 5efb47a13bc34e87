// Placeholder: SIMD float32 math (exp, log, tanh, ...) without tables or globals; being written.
