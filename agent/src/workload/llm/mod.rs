//! A local LLM query: in-process through llama.cpp, or through an Ollama or
//! OpenAI-compatible server (placeholder: being implemented).
