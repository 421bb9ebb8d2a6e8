"""Variable-length sequences for the recurrent layers: padding and packing.

A ``PackedSequence`` holds a batch of sequences time-major, without padding: ``data`` is the
concatenation over steps ``t`` of the ``batch_sizes[t]`` sequences still running at ``t`` (the
sequences sorted longest first, ``sorted_indices`` saying which input each row came from).
Everything is written in differentiable Tensor ops (``index_select``, ``cat``, ``stack``), so
gradients flow from a packed output back to the padded input.

See: torch.nn.utils.rnn.
"""
from __future__ import annotations

from collections import namedtuple

from ... import factories
from ...ops.join import cat, stack
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of ``0..n-1`` (``None`` stays ``None``)."""
    if permutation is None:
        return None
    out = factories.empty_like(permutation)
    out[permutation] = factories.arange(permutation.numel(), device=permutation.device)
    return out


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A packed batch of variable-length sequences (build it with ``pack_padded_sequence``).

    Attributes:
        data: (sum(lengths), *) the steps, time-major.
        batch_sizes: int64 CPU tensor, how many sequences run at each step.
        sorted_indices: which input sequence each packed column holds (or ``None``).
        unsorted_indices: the inverse permutation (or ``None``).

    See: torch.nn.utils.rnn.PackedSequence.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError(
                    "batch_sizes should always be on CPU. Instances of PackedSequence should "
                    "never be created manually. They should be instantiated by functions like "
                    "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                    "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
            return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)
        # The (data, batch_sizes) pair given as one tuple, as PyTorch allows.
        if not isinstance(data, (list, tuple)) or len(data) != 2:
            raise TypeError(f"PackedSequence expected (data, batch_sizes), got {type(data)}")
        return super().__new__(cls, data[0], data[1], sorted_indices, unsorted_indices)

    def _with_data(self, data: Tensor) -> PackedSequence:
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """Move/cast ``data`` (and the indices to its device); ``batch_sizes`` stays on CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        sorted_i = None if self.sorted_indices is None else self.sorted_indices.to(dev)
        unsorted_i = None if self.unsorted_indices is None else self.unsorted_indices.to(dev)
        return type(self)(data, self.batch_sizes, sorted_i, unsorted_i)

    def cuda(self, *args, **kwargs) -> PackedSequence:
        """``data`` on the GPU. See: torch.nn.utils.rnn.PackedSequence.cuda."""
        return self.to(self.data.cuda(*args, **kwargs).device)

    def cpu(self) -> PackedSequence:
        """``data`` on the CPU."""
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self._with_data(self.data.double())

    def float(self) -> PackedSequence:
        return self._with_data(self.data.float())

    def half(self) -> PackedSequence:
        return self._with_data(self.data.half())

    def long(self) -> PackedSequence:
        return self._with_data(self.data.long())

    def int(self) -> PackedSequence:
        return self._with_data(self.data.int())

    def short(self) -> PackedSequence:
        return self._with_data(self.data.short())

    def char(self) -> PackedSequence:
        return self._with_data(self.data.char())

    def byte(self) -> PackedSequence:
        return self._with_data(self.data.byte())

    @property
    def is_cuda(self) -> bool:
        """Whether ``data`` lives on the GPU."""
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        """Whether ``data`` is in pinned memory."""
        return self.data.is_pinned()


def _lengths_list(lengths) -> list:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.ndim}D {lengths.device.type} {lengths.dtype} tensor")
        return [int(v) for v in lengths._host().reshape(-1)]
    return [int(v) for v in lengths]


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *)) of sequences of the given lengths.

    With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch is sorted and
    the permutation kept in the result.

    See: torch.nn.utils.rnn.pack_padded_sequence.
    """
    lens = _lengths_list(lengths)
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
        sorted_indices = None
    else:
        # A stable descending sort, as PyTorch's (ties keep their input order).
        order = sorted(range(len(lens)), key=lambda i: -lens[i])
        lens = [lens[i] for i in order]
        sorted_indices = factories.tensor(order, dtype="int64", device=input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    batch = input.shape[1] if input.ndim > 1 else 0
    if len(lens) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lens)} (batch_size={batch})")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if lens and lens[0] > input.shape[0]:
        raise RuntimeError(f"Expected sequence length to be at most {input.shape[0]}, but got "
                           f"{lens[0]}")
    steps = lens[0] if lens else 0
    sizes = [sum(1 for n in lens if n > t) for t in range(steps)]
    data = cat([input[t, :bs] for t, bs in enumerate(sizes)], 0)
    batch_sizes = factories.tensor(sizes, dtype="int64", device="cpu")
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: the padded batch and the lengths (int64, CPU).

    See: torch.nn.utils.rnn.pad_packed_sequence.
    """
    data = sequence.data
    sizes = [int(v) for v in sequence.batch_sizes._host().reshape(-1)]
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
    else:
        total_length = steps
    batch = sizes[0] if sizes else 0
    rows, start = [], 0
    for bs in sizes:
        step = data[start:start + bs]
        if bs < batch:
            fill = factories.full((batch - bs,) + tuple(data.shape[1:]), padding_value,
                                  dtype=data.dtype, device=data.device)
            step = cat([step, fill], 0)
        rows.append(step)
        start += bs
    for _ in range(total_length - steps):
        rows.append(factories.full((batch,) + tuple(data.shape[1:]), padding_value,
                                   dtype=data.dtype, device=data.device))
    padded = stack(rows, 0)
    lengths = [sum(1 for bs in sizes if bs > b) for b in range(batch)]
    lengths_t = factories.tensor(lengths, dtype="int64", device="cpu")
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths_t = lengths_t.index_select(0, sequence.unsorted_indices.to("cpu"))
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, lengths_t


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padding.

    See: torch.nn.utils.rnn.pad_sequence.
    """
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if s.shape[0] < longest:
            fill = factories.full((longest - s.shape[0],) + tuple(s.shape[1:]), padding_value,
                                  dtype=s.dtype, device=s.device)
            s = cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences. See: torch.nn.utils.rnn.unpad_sequence."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :n] for i, n in enumerate(_lengths_list(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) sequences. See: torch.nn.utils.rnn.pack_sequence."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Unpack into a list of (L_i, *) sequences. See: torch.nn.utils.rnn.unpack_sequence."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
