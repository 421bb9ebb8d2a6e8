"""Model builders shared by ``train_step.py`` and ``tests/test_models_reference.py``.

Each builder takes ``lib`` (brickwork or torch) and builds the network from ``lib.nn`` only, so
both frameworks run the very same code and their ``state_dict`` keys match one for one (the
reference test copies PyTorch's weights into brickwork by key).
"""
from __future__ import annotations


def resnet18(lib, num_classes: int = 10):
    """ResNet-18 with the CIFAR stem: a 3x3 stride-1 conv and no max pool (the ImageNet 7x7
    stride-2 stem and pool would leave a 32x32 input 1x1 by the last stage), BasicBlocks
    [2, 2, 2, 2] of 64/128/256/512 channels, 1x1 stride-2 downsample convs with batch norm,
    adaptive average pooling and a linear layer to ``num_classes``."""
    nn, F = lib.nn, lib.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            # No conv biases: batch norm right after subtracts any bias again.
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            shortcut = x if self.downsample is None else self.downsample(x)
            return F.relu(out + shortcut)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            stages, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                stages.append(nn.Sequential(BasicBlock(cin, cout, stride),
                                            BasicBlock(cout, cout, 1)))
                cin = cout
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(lib.flatten(self.avgpool(x), 1))

    return ResNet18()


def alexnet(lib, num_classes: int = 10):
    """The d2l book's AlexNet (chapter "Deep Convolutional Neural Networks (AlexNet)"), for
    1-channel Fashion-MNIST resized to 224x224. ``Linear(6400, ...)`` fixes the last feature map
    at 256x5x5, so inputs from 193x193 to 224x224 fit."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, num_classes))


# The book's networks of chapter "Modern Convolutional Neural Networks", as the book writes
# them (lazy layers), for 1-channel Fashion-MNIST inputs. Each builder runs one forward pass in
# eval mode on zeros, so the lazy layers take their shapes and the two frameworks' state_dicts
# can be compared and copied.


def _materialize(lib, net, shape):
    net.eval()
    with lib.no_grad():
        net(lib.zeros(2, *shape))
    net.train()
    return net


def bn_lenet(lib, num_classes: int = 10):
    """LeNet with batch normalization (chapter "Batch Normalization"), 1x28x28 inputs."""
    nn = lib.nn
    net = nn.Sequential(
        nn.LazyConv2d(6, kernel_size=5), nn.LazyBatchNorm2d(), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.LazyConv2d(16, kernel_size=5), nn.LazyBatchNorm2d(), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.LazyLinear(120), nn.LazyBatchNorm1d(), nn.Sigmoid(),
        nn.LazyLinear(84), nn.LazyBatchNorm1d(), nn.Sigmoid(),
        nn.LazyLinear(num_classes))
    return _materialize(lib, net, (1, 28, 28))


def nin(lib, num_classes: int = 10):
    """Network in Network (chapter "Network in Network (NiN)"), 1x224x224 inputs."""
    nn = lib.nn

    def block(out_channels, kernel_size, strides, padding):
        return nn.Sequential(
            nn.LazyConv2d(out_channels, kernel_size, strides, padding), nn.ReLU(),
            nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
            nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU())

    net = nn.Sequential(
        block(96, kernel_size=11, strides=4, padding=0), nn.MaxPool2d(3, stride=2),
        block(256, kernel_size=5, strides=1, padding=2), nn.MaxPool2d(3, stride=2),
        block(384, kernel_size=3, strides=1, padding=1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5), block(num_classes, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return _materialize(lib, net, (1, 224, 224))


def googlenet(lib, num_classes: int = 10):
    """GoogLeNet (chapter "Multi-Branch Networks (GoogLeNet)"), 1x96x96 inputs."""
    nn, F = lib.nn, lib.nn.functional

    class Inception(nn.Module):
        def __init__(self, c1, c2, c3, c4):
            super().__init__()
            self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
            self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
            self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
            self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
            self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
            self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
            self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)

        def forward(self, x):
            b1 = F.relu(self.b1_1(x))
            b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
            b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
            b4 = F.relu(self.b4_2(self.b4_1(x)))
            return lib.cat((b1, b2, b3, b4), dim=1)

    pool = dict(kernel_size=3, stride=2, padding=1)
    net = nn.Sequential(
        nn.Sequential(nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3), nn.ReLU(),
                      nn.MaxPool2d(**pool)),
        nn.Sequential(nn.LazyConv2d(64, kernel_size=1), nn.ReLU(),
                      nn.LazyConv2d(192, kernel_size=3, padding=1), nn.ReLU(),
                      nn.MaxPool2d(**pool)),
        nn.Sequential(Inception(64, (96, 128), (16, 32), 32),
                      Inception(128, (128, 192), (32, 96), 64), nn.MaxPool2d(**pool)),
        nn.Sequential(Inception(192, (96, 208), (16, 48), 64),
                      Inception(160, (112, 224), (24, 64), 64),
                      Inception(128, (128, 256), (24, 64), 64),
                      Inception(112, (144, 288), (32, 64), 64),
                      Inception(256, (160, 320), (32, 128), 128), nn.MaxPool2d(**pool)),
        nn.Sequential(Inception(256, (160, 320), (32, 128), 128),
                      Inception(384, (192, 384), (48, 128), 128),
                      nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()),
        nn.LazyLinear(num_classes))
    return _materialize(lib, net, (1, 96, 96))


def densenet(lib, num_classes: int = 10):
    """DenseNet (chapter "Densely Connected Networks (DenseNet)"): four dense blocks of four
    BN-ReLU-conv layers, growth rate 32, with transition blocks; 1x96x96 inputs."""
    nn = lib.nn

    def conv_block(num_channels):
        return nn.Sequential(nn.LazyBatchNorm2d(), nn.ReLU(),
                             nn.LazyConv2d(num_channels, kernel_size=3, padding=1))

    class DenseBlock(nn.Module):
        def __init__(self, num_convs, num_channels):
            super().__init__()
            self.net = nn.Sequential(*[conv_block(num_channels) for _ in range(num_convs)])

        def forward(self, x):
            for blk in self.net:
                x = lib.cat((x, blk(x)), dim=1)
            return x

    def transition_block(num_channels):
        return nn.Sequential(nn.LazyBatchNorm2d(), nn.ReLU(),
                             nn.LazyConv2d(num_channels, kernel_size=1),
                             nn.AvgPool2d(kernel_size=2, stride=2))

    layers = [nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3), nn.LazyBatchNorm2d(),
              nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1)]
    num_channels, growth_rate, arch = 64, 32, (4, 4, 4, 4)
    for i, num_convs in enumerate(arch):
        layers.append(DenseBlock(num_convs, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(arch) - 1:
            num_channels //= 2
            layers.append(transition_block(num_channels))
    layers += [nn.LazyBatchNorm2d(), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
               nn.LazyLinear(num_classes)]
    return _materialize(lib, nn.Sequential(*layers), (1, 96, 96))
