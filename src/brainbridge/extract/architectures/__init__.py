"""Network architectures defined in the project (their weights come from local files)."""

from brainbridge.extract.architectures.cifar_resnet import (
    CIFAR10_CLASSES,
    CifarResNet,
    cifar_resnet,
    load_cifar_resnet,
)

__all__ = ["CIFAR10_CLASSES", "CifarResNet", "cifar_resnet", "load_cifar_resnet"]
