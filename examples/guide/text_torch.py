"""Topic 13, PyTorch: an LSTM text classifier, trained for a few epochs on a tiny generated
corpus."""

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader

from examples.guide.text_data import make_corpus


# --8<-- [start:vocab]
def build_vocabulary(texts: list[str]) -> dict[str, int]:
    """Word -> index; 0 is padding and 1 an unknown word."""
    words = sorted({word for text in texts for word in text.lower().split()})
    return {"<pad>": 0, "<unk>": 1} | {word: i for i, word in enumerate(words, start=2)}


def encode(texts: list[str], vocabulary: dict[str, int]) -> tuple[Tensor, Tensor]:
    """A (batch, longest) tensor of word indices padded with 0, and each text's length."""
    sequences = [torch.tensor([vocabulary.get(word, 1) for word in text.lower().split()])
                 for text in texts]
    lengths = torch.tensor([len(sequence) for sequence in sequences])
    return pad_sequence(sequences, batch_first=True, padding_value=0), lengths
# --8<-- [end:vocab]


# --8<-- [start:model]
class LSTMClassifier(nn.Module):
    def __init__(self, vocabulary_size: int, embedding_dim: int = 32, hidden: int = 64,
                 classes: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # Packing tells the LSTM where each text ends: padding never enters its state
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)  # (layers, batch, hidden), at each last word
        return self.head(hidden[-1])
# --8<-- [end:model]


def main() -> None:
    torch.manual_seed(0)
    train_texts, train_labels = make_corpus(512, seed=0)
    test_texts, test_labels = make_corpus(128, seed=1)
    vocabulary = build_vocabulary(train_texts)
    model = LSTMClassifier(len(vocabulary))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    # --8<-- [start:train]
    def collate(batch: list[tuple[str, int]]) -> tuple[torch.Tensor, ...]:
        texts, labels = zip(*batch, strict=True)  # each batch padded to its longest text
        return *encode(list(texts), vocabulary), torch.tensor(labels)

    pairs = list(zip(train_texts, train_labels, strict=True))
    loader = DataLoader(pairs, batch_size=32, shuffle=True, collate_fn=collate)
    model.train()
    for _ in range(4):
        for tokens, lengths, labels in loader:
            loss = F.cross_entropy(model(tokens, lengths), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    # --8<-- [end:train]
    model.eval()
    with torch.inference_mode():
        predictions = model(*encode(test_texts, vocabulary)).argmax(dim=1)
        accuracy = (predictions == torch.tensor(test_labels)).float().mean().item()
        alone = model(*encode([test_texts[0]], vocabulary))
        longer = "the hotel was really not very good at all"
        padded = model(*encode([test_texts[0], longer], vocabulary))[:1]
    torch.testing.assert_close(alone, padded)  # padding does not change a text's prediction
    print(f"LSTM after 4 epochs: held-out accuracy {accuracy:.2f}")
    assert accuracy > 0.8


if __name__ == "__main__":
    main()
