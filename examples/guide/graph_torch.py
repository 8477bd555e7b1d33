"""Topic 6, PyTorch: what ``torch.compile`` captures, when it compiles again, and what it does
at a data-dependent branch."""

from collections.abc import Callable

import torch
from torch._dynamo.exc import Unsupported


# --8<-- [start:branch]
def scale(x: torch.Tensor) -> torch.Tensor:
    if x.sum() > 0:  # Python decides on a tensor's value: no single graph can hold this
        return x * 2
    return x - 1


def scale_in_graph(x: torch.Tensor) -> torch.Tensor:
    # torch.cond keeps both branches in the graph (torch.where would compute both)
    return torch.cond(x.sum() > 0, lambda t: t * 2, lambda t: t - 1, (x,))
# --8<-- [end:branch]


# --8<-- [start:backend]
graphs: list[torch.fx.GraphModule] = []


def record_graph(graph: torch.fx.GraphModule, example_inputs: list) -> Callable:
    """A torch.compile backend that keeps each captured graph and runs it unchanged."""
    graphs.append(graph)
    return graph.forward
# --8<-- [end:backend]


def main() -> None:
    # --8<-- [start:compile]
    x = torch.ones(8)
    try:
        torch.compile(scale, fullgraph=True)(x)  # fullgraph=True: a graph break is an error
    except Unsupported as error:  # torch._dynamo.exc.Unsupported
        print(f"fullgraph=True: {str(error).splitlines()[0]}")  # "Data-dependent branching"
    torch.compiler.reset()

    compiled = torch.compile(scale)  # by default: two graphs, the branch runs in Python
    assert torch.equal(compiled(x), scale(x)) and torch.equal(compiled(-x), scale(-x))

    in_graph = torch.compile(scale_in_graph, fullgraph=True)  # one graph, both branches
    assert torch.equal(in_graph(x), scale(x)) and torch.equal(in_graph(-x), scale(-x))
    # --8<-- [end:compile]
    # --8<-- [start:recompile]
    add_one = torch.compile(lambda t: t.relu() + 1, backend=record_graph)
    for length in (4, 5, 6, 7):
        add_one(torch.ones(length))
    # one graph for length 4; at 5, one graph with a symbolic length serves 5, 6 and 7
    assert len(graphs) == 2
    # --8<-- [end:recompile]
    print(f"torch.compile: results equal to eager; {len(graphs)} graphs for 4 input lengths")


if __name__ == "__main__":
    main()
