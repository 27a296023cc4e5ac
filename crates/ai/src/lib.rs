//! Optional AI parts of Sen that talk to something heavy: a chat model behind an
//! OpenAI-compatible endpoint (`llm`), and a sentence-embedding model loaded from a local
//! directory (`embed`) that may re-rank the assistant's sources. Nothing here decides what is
//! true: the assistant's facts come from the catalogue (`sen_domain::assistant`), whatever a
//! model writes is used only after `sen_domain::assistant::faithful` accepts it, and the
//! embeddings only reorder sources that retrieval already grounded.

pub mod embed;
pub mod llm;
