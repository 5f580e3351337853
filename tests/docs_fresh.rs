//! Generated docs must match their sources.

#[test]
fn pe_library_page_matches_the_codebooks() {
    let library = kiln_spec::PeLibrary::builtin().unwrap();
    let page = kiln::pe_docs::render(&library);
    let path = kiln_spec::repo_root().join("docs/pe-library.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "{} is stale: run `make docs` (kiln pe docs --write docs/pe-library.md) and commit it",
        path.display()
    );
}
