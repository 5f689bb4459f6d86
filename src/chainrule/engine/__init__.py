"""The engine: tensors, the Function every op is made with, the graph and its backward pass, recording modes, in-place stamps, anomaly checks and traces."""
