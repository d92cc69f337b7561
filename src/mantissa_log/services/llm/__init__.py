"""Each user's own LLM: providers behind one interface (`types.ChatProvider`), the gateway that picks,
keys, retries and meters them (`gateway.LlmService`), and the reading of fenced answers."""
