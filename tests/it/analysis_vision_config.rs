//! `vision:` as `check` sees it (bounds and unknown keys at their line),
//! and what the budget reserves for images.

use flipfix_bot::analysis::{estimated_max_cost, for_workflow, vision};
use flipfix_bot::llm::ImageInput;
use flipfix_bot::template_check::load_workflows;

use super::analysis_vision::{vision_on, workflows_with};
use crate::support::{copy_workflows, shipped_workflows};

/// The problems loading the shipped workflows with `vision` in place of
/// the shipped section (which starts on line 46 of add_to_flipfix.yaml).
fn vision_problems(vision: &str) -> String {
    let dir = copy_workflows();
    let path = dir.path().join("workflows/add_to_flipfix.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let shipped =
        "      vision:\n        enabled: true\n        max_images: 4\n        max_image_mb: 5\n";
    assert_eq!(
        yaml.lines().position(|l| l == "      vision:"),
        Some(45),
        "the shipped vision section moved"
    );
    std::fs::write(&path, yaml.replace(shipped, vision)).unwrap();
    match load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts")) {
        Ok(_) => String::new(),
        Err(problems) => problems.to_string(),
    }
}

#[test]
fn vision_settings_out_of_range_are_reported_at_their_line() {
    let problems =
        vision_problems("      vision:\n        max_images: 21\n        max_image_mb: 6\n");
    assert!(
        problems
            .contains("add_to_flipfix.yaml:47:21: analyze: vision.max_images is 21; at most 20"),
        "{problems}"
    );
    assert!(
        problems.contains("add_to_flipfix.yaml:48:23: analyze: vision.max_image_mb is 6; 1 to 5"),
        "{problems}"
    );
    let problems = vision_problems("      vision:\n        max_image_mb: 0\n");
    assert!(
        problems.contains(":47:23: analyze: vision.max_image_mb is 0"),
        "{problems}"
    );
}

#[test]
fn unknown_vision_keys_are_refused() {
    let problems = vision_problems("      vision:\n        max_photos: 3\n");
    assert!(problems.contains("add_to_flipfix.yaml:47:"), "{problems}");
    assert!(problems.contains("max_photos"), "{problems}");
}

#[test]
fn vision_is_off_without_the_section_and_on_with_it() {
    assert!(vision_problems("").is_empty());
    assert!(
        for_workflow(&shipped_workflows(), None)
            .unwrap()
            .vision
            .enabled,
        "shipped: on"
    );
    let (_dir, workflows) = workflows_with("");
    assert!(
        !for_workflow(&workflows, None).unwrap().vision.enabled,
        "absent: off"
    );
    let (_dir, workflows) = workflows_with("  vision: {}\n");
    let vision = for_workflow(&workflows, None).unwrap().vision;
    assert!(vision.enabled, "present: on");
    assert_eq!(vision.max_images, 4);
    assert_eq!(vision.max_image_bytes, 5 * 1024 * 1024);
}

#[test]
fn the_budget_reserves_the_image_ceiling_per_image() {
    let (_dir, workflows) = vision_on();
    let menu = for_workflow(&workflows, None).unwrap();
    let text = flipfix_bot::analysis::prompt::Prompt {
        system: "s".repeat(1000),
        conversation: "c".repeat(1000),
        images: Vec::new(),
        tool: std::sync::Arc::new(flipfix_bot::analysis::prompt::tool(menu, &workflows.kinds)),
    };
    let image = ImageInput {
        caption: String::new(),
        media_type: "image/png",
        base64: "AAAA".into(),
    };
    let with_images = flipfix_bot::analysis::prompt::Prompt {
        images: vec![image.clone(), image],
        ..text.clone()
    };
    let price = menu.price(&menu.model).unwrap();
    let extra = estimated_max_cost(menu, &with_images) - estimated_max_cost(menu, &text);
    let expected = 2.0 * vision::MAX_TOKENS_PER_IMAGE as f64 * price.cache_write / 1_000_000.0;
    assert!((extra - expected).abs() < 1e-12, "{extra} vs {expected}");
}
