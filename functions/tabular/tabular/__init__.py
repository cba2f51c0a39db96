"""The seed model: 3 numeric features -> Dense(5, relu) -> Dense(2, softmax)."""
