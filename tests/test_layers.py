"""The packages and their modules import one another without circles, in layers: deepnets1m below
gnn_zoo below bench's configuration and records (the record schema among them) below its harness
below its launchers below leaderboard below bench's command line (which dispatches to all of
them), and no module reaches itself through its imports (those inside functions included, which
can hide a circle until the function runs)."""

import ast
from pathlib import Path

import networkx as nx

REPO = Path(__file__).parents[1]
PACKAGES = ("deepnets1m", "gnn_zoo", "leaderboard", "bench")
# each layer may import only itself and those before it; bench's own modules (its package and
# `python -m bench`) sit above them all
LAYERS = (
    "deepnets1m",
    "gnn_zoo",
    "bench.config",
    "bench.harness",
    "bench.launchers",
    "leaderboard",
    "bench.commands",
    "bench",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, known: set[str]) -> set[str]:
    """The repository's modules that `path` imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text())
    type_only = {  # `if TYPE_CHECKING:` imports never run
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for n in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # a name inside a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> nx.DiGraph:
    files = [p for package in PACKAGES for p in (REPO / package).rglob("*.py")]
    known = {module_name(p) for p in files}
    graph = nx.DiGraph()
    graph.add_nodes_from(known)
    for path in files:
        graph.add_edges_from((module_name(path), target) for target in imports(path, known))
    return graph


def layer(module: str) -> int:
    """The place of `module`'s layer in LAYERS (its longest matching prefix)."""
    matching = [name for name in LAYERS if module == name or module.startswith(f"{name}.")]
    return LAYERS.index(max(matching, key=len))


def test_every_bench_module_sits_in_a_layer():
    loose = sorted(m for m in import_graph() if layer(m) == len(LAYERS) - 1)
    assert loose == ["bench", "bench.__main__"], f"bench modules outside config, harness, launchers, commands: {loose}"


def test_the_layers_import_downwards_only():
    graph = import_graph()
    upward = sorted(f"{a} -> {b}" for a, b in graph.edges if layer(b) > layer(a))
    assert not upward, f"imports against the layer order {' < '.join(LAYERS)}: {upward}"


def test_no_module_imports_itself_through_others():
    graph = import_graph()
    circles = sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)
    assert not circles, f"import circles: {circles}"


# the modules that import repository modules inside functions, and why (any other imports at the top)
LAZY_IMPORTS = {
    "bench.commands.cli": "a command imports what it runs when it runs: `bench --help` stays free of torch",
    "bench.commands.options": "the command layer's shared options: parsing stays free of torch",
    "bench.launchers.sweep": "`bench sweep` parses with it loaded: a job's core is resolved (torch) when planned",
    "bench.harness.workloads": "`bench profile`'s workloads: each imports what it times",
    "bench.config.protocol": "configuration counts a core's parameters only on request (gnn_zoo.base needs torch)",
    "deepnets1m.splits": "sampling architectures needs no torch; building them does (deepnets1m.net)",
}


def imports_the_repository(node: ast.AST) -> bool:
    """Whether an import statement imports one of the repository's modules."""
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in PACKAGES
    return isinstance(node, ast.Import) and any(a.name.split(".")[0] in PACKAGES for a in node.names)


def test_imports_inside_functions_only_where_their_reason_is_stated():
    lazy = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            functions = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)]
            if any(imports_the_repository(n) for f in functions for n in ast.walk(f)):
                lazy.add(module_name(path))
    unexplained = {m for m in lazy if not m.endswith("_cmd")} - set(LAZY_IMPORTS)
    assert not unexplained, f"imports inside functions without a stated reason (move them to the top): {unexplained}"
