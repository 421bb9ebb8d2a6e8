"""The d2l helpers the machine-translation examples use, re-implemented small (no downloads).

``tools(torch, nn, F)`` builds them against whichever library the example imported, so the same
example code runs on brickwork and on PyTorch. It covers the book's "Machine translation and the
dataset" (``MTFraEng``, ``Vocab``) and "The encoder--decoder architecture" (``Encoder``,
``Decoder``, ``EncoderDecoder``) sections and the small parts of the d2l framework they stand on
(``Module``, ``Classifier``, ``DataModule``, ``Trainer`` with gradient clipping, the tensor
aliases such as ``d2l.astype``). The code follows d2l/torch.py; only the plotting is reduced to
recording the values.
"""
import collections
import functools
import inspect
import types

# A small English-French corpus in the book's fra.txt format (one tab-separated pair a line),
# written for these examples instead of the Tatoeba download. Words recur so that most survive
# the book's ``min_freq=2`` vocabulary; the four sentences the book translates are included.
RAW_TEXT = """Go.\tVa !
Hi.\tSalut !
Run!\tCours !
Run!\tCourez !
Stop!\tArrête !
Wait!\tAttends !
Wait!\tAttendez !
Go on.\tContinue.
I see.\tJe vois.
I won!\tJ'ai gagné !
I lost.\tJ'ai perdu.
I ran.\tJ'ai couru.
I'm OK.\tJe vais bien.
I'm home.\tJe suis chez moi.
I'm calm.\tJe suis calme.
I'm sick.\tJe suis malade.
I'm tired.\tJe suis fatigué.
I'm happy.\tJe suis heureux.
I'm sad.\tJe suis triste.
I'm ready.\tJe suis prêt.
I'm late.\tJe suis en retard.
He's calm.\tIl est calme.
He's home.\tIl est chez lui.
He's sick.\tIl est malade.
He's tired.\tIl est fatigué.
He's happy.\tIl est heureux.
He's sad.\tIl est triste.
He's late.\tIl est en retard.
He ran.\tIl a couru.
He won.\tIl a gagné.
He lost.\tIl a perdu.
She's calm.\tElle est calme.
She's sick.\tElle est malade.
She's tired.\tElle est fatiguée.
She's happy.\tElle est heureuse.
She's sad.\tElle est triste.
She's late.\tElle est en retard.
She ran.\tElle a couru.
She won.\tElle a gagné.
She lost.\tElle a perdu.
We won.\tNous avons gagné.
We lost.\tNous avons perdu.
We ran.\tNous avons couru.
We're home.\tNous sommes chez nous.
We're sad.\tNous sommes tristes.
We're late.\tNous sommes en retard.
We're ready.\tNous sommes prêts.
You're calm.\tTu es calme.
You're sick.\tTu es malade.
You're late.\tTu es en retard.
You're ready.\tTu es prêt.
Be calm.\tSois calme.
Be nice.\tSois gentil.
Go home.\tRentre chez toi.
Go home.\tVa chez toi.
I see him.\tJe le vois.
I see her.\tJe la vois.
He sees me.\tIl me voit.
She sees me.\tElle me voit.
We see him.\tNous le voyons.
I'm not sad.\tJe ne suis pas triste.
He's not late.\tIl n'est pas en retard.
She's not sick.\tElle n'est pas malade.
We're not late.\tNous ne sommes pas en retard.
"""


@functools.lru_cache(maxsize=None)
def tools(torch, nn, F):
    """Return a namespace with the d2l names the MT sections use, built on ``torch``.

    Cached per library, so that sections importing one another share the same base classes
    (as they would share ``d2l``) and ``d2l.add_to_class`` reaches every user of a class.
    """
    d2l = types.SimpleNamespace()

    def add_to_class(Class):
        """Register functions as methods in created class."""
        def wrapper(obj):
            setattr(Class, obj.__name__, obj)
        return wrapper

    class HyperParameters:
        """The base class of hyperparameters."""
        def save_hyperparameters(self, ignore=()):
            """Save the calling function's arguments as attributes (d2l's inspect trick)."""
            frame = inspect.currentframe().f_back
            _, _, _, local_vars = inspect.getargvalues(frame)
            self.hparams = {k: v for k, v in local_vars.items()
                            if k not in set(list(ignore) + ['self']) and not k.startswith('_')}
            for k, v in self.hparams.items():
                setattr(self, k, v)

    class Module(nn.Module, HyperParameters):
        """The base class of models (d2l.Module without the plots: ``plot`` records)."""
        def __init__(self):
            super().__init__()
            self.history = collections.defaultdict(list)

        def loss(self, y_hat, y):
            raise NotImplementedError

        def plot(self, key, value, train):
            """Record a point instead of drawing it."""
            self.history[('train_' if train else 'val_') + key].append(float(value.detach()))

        def training_step(self, batch):
            l = self.loss(self(*batch[:-1]), batch[-1])
            self.plot('loss', l, train=True)
            return l

        def validation_step(self, batch):
            l = self.loss(self(*batch[:-1]), batch[-1])
            self.plot('loss', l, train=False)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.lr)

    class Classifier(Module):
        """The base class of classification models."""
        def validation_step(self, batch):
            Y_hat = self(*batch[:-1])
            self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
            self.plot('acc', self.accuracy(Y_hat, batch[-1]), train=False)

        def accuracy(self, Y_hat, Y, averaged=True):
            """Compute the number of correct predictions."""
            Y_hat = d2l.reshape(Y_hat, (-1, Y_hat.shape[-1]))
            preds = d2l.astype(d2l.argmax(Y_hat, axis=1), Y.dtype)
            compare = d2l.astype(preds == d2l.reshape(Y, -1), d2l.float32)
            return d2l.reduce_mean(compare) if averaged else compare

        def loss(self, Y_hat, Y, averaged=True):
            Y_hat = d2l.reshape(Y_hat, (-1, Y_hat.shape[-1]))
            Y = d2l.reshape(Y, (-1,))
            return F.cross_entropy(Y_hat, Y, reduction='mean' if averaged else 'none')

    class DataModule(HyperParameters):
        """The base class of data."""
        def get_dataloader(self, train):
            raise NotImplementedError

        def train_dataloader(self):
            return self.get_dataloader(train=True)

        def val_dataloader(self):
            return self.get_dataloader(train=False)

        def get_tensorloader(self, tensors, train, indices=slice(0, None)):
            tensors = tuple(a[indices] for a in tensors)
            dataset = torch.utils.data.TensorDataset(*tensors)
            return torch.utils.data.DataLoader(dataset, self.batch_size, shuffle=train)

    class Trainer(HyperParameters):
        """The book's trainer: minibatch steps with gradient clipping, then validation.

        ``losses`` holds each epoch's mean training loss (the book plots them instead)."""
        def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
            self.save_hyperparameters()
            self.gpus = [gpu(i) for i in range(min(num_gpus, num_gpus_available()))]
            self.losses = []

        def prepare_data(self, data):
            self.train_dataloader = data.train_dataloader()
            self.val_dataloader = data.val_dataloader()
            self.num_train_batches = len(self.train_dataloader)
            self.num_val_batches = (len(self.val_dataloader)
                                    if self.val_dataloader is not None else 0)

        def prepare_model(self, model):
            model.trainer = self
            if self.gpus:
                model.to(self.gpus[0])
            self.model = model

        def prepare_batch(self, batch):
            if self.gpus:
                batch = [d2l.to(a, self.gpus[0]) for a in batch]
            return batch

        def fit(self, model, data):
            self.prepare_data(data)
            self.prepare_model(model)
            self.optim = model.configure_optimizers()
            self.epoch = 0
            self.train_batch_idx = 0
            self.val_batch_idx = 0
            for self.epoch in range(self.max_epochs):
                self.fit_epoch()

        def fit_epoch(self):
            self.model.train()
            total = 0.0
            for batch in self.train_dataloader:
                loss = self.model.training_step(self.prepare_batch(batch))
                self.optim.zero_grad()
                # As the book does: backward under no_grad (the graph is already recorded).
                with torch.no_grad():
                    loss.backward()
                    if self.gradient_clip_val > 0:
                        self.clip_gradients(self.gradient_clip_val, self.model)
                    self.optim.step()
                self.train_batch_idx += 1
                total += float(loss.detach())
            self.losses.append(total / self.num_train_batches)
            if self.val_dataloader is None:
                return
            self.model.eval()
            for batch in self.val_dataloader:
                with torch.no_grad():
                    self.model.validation_step(self.prepare_batch(batch))
                self.val_batch_idx += 1

        def clip_gradients(self, grad_clip_val, model):
            params = [p for p in model.parameters() if p.requires_grad]
            norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
            if norm > grad_clip_val:
                for param in params:
                    param.grad[:] *= grad_clip_val / norm

    class Vocab:
        """Vocabulary for text (the book's, word-level here)."""
        def __init__(self, tokens=(), min_freq=0, reserved_tokens=()):
            tokens = list(tokens)
            # Flatten a 2D list if needed
            if tokens and isinstance(tokens[0], list):
                tokens = [token for line in tokens for token in line]
            # Count token frequencies
            counter = collections.Counter(tokens)
            self.token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
            # The list of unique tokens
            self.idx_to_token = list(sorted(set(['<unk>'] + list(reserved_tokens) + [
                token for token, freq in self.token_freqs if freq >= min_freq])))
            self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}

        def __len__(self):
            return len(self.idx_to_token)

        def __getitem__(self, tokens):
            if not isinstance(tokens, (list, tuple)):
                return self.token_to_idx.get(tokens, self.unk)
            return [self.__getitem__(token) for token in tokens]

        def to_tokens(self, indices):
            if hasattr(indices, '__len__') and len(indices) > 1:
                return [self.idx_to_token[int(index)] for index in indices]
            return self.idx_to_token[indices]

        @property
        def unk(self):  # Index for the unknown token
            return self.token_to_idx['<unk>']

    class MTFraEng(DataModule):
        """The English-French dataset (the local ``RAW_TEXT`` instead of the download).

        The defaults of ``num_train``/``num_val`` fit the small corpus (the book: 512, 128)."""
        def _download(self):
            return RAW_TEXT

        def _preprocess(self, text):
            # Replace non-breaking space with space
            text = text.replace('\u202f', ' ').replace('\xa0', ' ')
            # Insert space between words and punctuation marks
            no_space = lambda char, prev_char: char in ',.!?' and prev_char != ' '
            out = [' ' + char if i > 0 and no_space(char, text[i - 1]) else char
                   for i, char in enumerate(text.lower())]
            return ''.join(out)

        def _tokenize(self, text, max_examples=None):
            src, tgt = [], []
            for i, line in enumerate(text.split('\n')):
                if max_examples and i > max_examples:
                    break
                parts = line.split('\t')
                if len(parts) == 2:
                    # Skip empty tokens
                    src.append([t for t in f'{parts[0]} <eos>'.split(' ') if t])
                    tgt.append([t for t in f'{parts[1]} <eos>'.split(' ') if t])
            return src, tgt

        def __init__(self, batch_size, num_steps=9, num_train=48, num_val=16):
            super(MTFraEng, self).__init__()
            self.save_hyperparameters()
            self.arrays, self.src_vocab, self.tgt_vocab = self._build_arrays(self._download())

        def _build_arrays(self, raw_text, src_vocab=None, tgt_vocab=None):
            def _build_array(sentences, vocab, is_tgt=False):
                pad_or_trim = lambda seq, t: (
                    seq[:t] if len(seq) > t else seq + ['<pad>'] * (t - len(seq)))
                sentences = [pad_or_trim(s, self.num_steps) for s in sentences]
                if is_tgt:
                    sentences = [['<bos>'] + s for s in sentences]
                if vocab is None:
                    vocab = Vocab(sentences, min_freq=2)
                array = d2l.tensor([vocab[s] for s in sentences])
                valid_len = d2l.reduce_sum(d2l.astype(array != vocab['<pad>'], d2l.int32), 1)
                return array, vocab, valid_len
            src, tgt = self._tokenize(self._preprocess(raw_text),
                                      self.num_train + self.num_val)
            src_array, src_vocab, src_valid_len = _build_array(src, src_vocab)
            tgt_array, tgt_vocab, _ = _build_array(tgt, tgt_vocab, True)
            return ((src_array, tgt_array[:, :-1], src_valid_len, tgt_array[:, 1:]),
                    src_vocab, tgt_vocab)

        def get_dataloader(self, train):
            idx = slice(0, self.num_train) if train else slice(self.num_train, None)
            return self.get_tensorloader(self.arrays, train, idx)

        def build(self, src_sentences, tgt_sentences):
            raw_text = '\n'.join([src + '\t' + tgt for src, tgt in zip(
                src_sentences, tgt_sentences)])
            arrays, _, _ = self._build_arrays(raw_text, self.src_vocab, self.tgt_vocab)
            return arrays

    class Encoder(nn.Module):
        """The base encoder interface for the encoder--decoder architecture."""
        def __init__(self):
            super().__init__()

        # Later there can be additional arguments (e.g., length excluding padding)
        def forward(self, X, *args):
            raise NotImplementedError

    class Decoder(nn.Module):
        """The base decoder interface for the encoder--decoder architecture."""
        def __init__(self):
            super().__init__()

        # Later there can be additional arguments (e.g., length excluding padding)
        def init_state(self, enc_all_outputs, *args):
            raise NotImplementedError

        def forward(self, X, state):
            raise NotImplementedError

    class EncoderDecoder(Classifier):
        """The base class for the encoder--decoder architecture (predict_step: seq2seq)."""
        def __init__(self, encoder, decoder):
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder

        def forward(self, enc_X, dec_X, *args):
            enc_all_outputs = self.encoder(enc_X, *args)
            dec_state = self.decoder.init_state(enc_all_outputs, *args)
            # Return decoder output only
            return self.decoder(dec_X, dec_state)[0]

    class RNN(Module):
        """The RNN model implemented with high-level APIs."""
        def __init__(self, num_inputs, num_hiddens):
            super().__init__()
            self.save_hyperparameters()
            self.rnn = nn.RNN(num_inputs, num_hiddens)

        def forward(self, inputs, H=None):
            return self.rnn(inputs, H)

    class GRU(RNN):
        """The multilayer GRU model."""
        def __init__(self, num_inputs, num_hiddens, num_layers, dropout=0):
            Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.GRU(num_inputs, num_hiddens, num_layers, dropout=dropout)

    def cpu():
        return torch.device('cpu')

    def gpu(i=0):
        return torch.device(f'cuda:{i}')

    def num_gpus_available():
        return torch.cuda.device_count()

    def try_gpu(i=0):
        """Return gpu(i) if exists, otherwise return cpu()."""
        if num_gpus_available() >= i + 1:
            return gpu(i)
        return cpu()

    def check_len(a, n):
        """Check the length of a list."""
        assert len(a) == n, f'list\'s length {len(a)} != expected length {n}'

    def check_shape(a, shape):
        """Check the shape of a tensor."""
        assert tuple(a.shape) == tuple(shape), \
            f'tensor\'s shape {tuple(a.shape)} != expected shape {tuple(shape)}'

    d2l.__dict__.update(
        add_to_class=add_to_class, HyperParameters=HyperParameters, Module=Module,
        Classifier=Classifier, DataModule=DataModule, Trainer=Trainer, Vocab=Vocab,
        MTFraEng=MTFraEng, Encoder=Encoder, Decoder=Decoder, EncoderDecoder=EncoderDecoder,
        RNN=RNN, GRU=GRU, cpu=cpu, gpu=gpu, num_gpus=num_gpus_available, try_gpu=try_gpu,
        check_len=check_len, check_shape=check_shape,
        # d2l's tensor aliases (d2l/torch.py's tail), as the book's code spells them
        zeros=torch.zeros, ones=torch.ones, tensor=torch.tensor, arange=torch.arange,
        concat=torch.cat, stack=torch.stack, int32=torch.int32, int64=torch.int64,
        float32=torch.float32,
        reshape=lambda x, *args, **kwargs: x.reshape(*args, **kwargs),
        to=lambda x, *args, **kwargs: x.to(*args, **kwargs),
        reduce_sum=lambda x, *args, **kwargs: x.sum(*args, **kwargs),
        reduce_mean=lambda x, *args, **kwargs: x.mean(*args, **kwargs),
        argmax=lambda x, *args, **kwargs: x.argmax(*args, **kwargs),
        astype=lambda x, *args, **kwargs: x.type(*args, **kwargs),
        transpose=lambda x, *args, **kwargs: x.t(*args, **kwargs),
        expand_dims=lambda x, *args, **kwargs: x.unsqueeze(*args, **kwargs),
        swapaxes=lambda x, *args, **kwargs: x.swapaxes(*args, **kwargs),
    )
    return d2l
