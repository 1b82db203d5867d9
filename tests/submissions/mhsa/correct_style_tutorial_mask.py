"""Correct: blog-tutorial style with a scaled_dot_product helper, split_heads/combine_heads methods and an optional mask=None argument (masked_fill only when a mask is given)."""
import math

import torch
import torch.nn as nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super(MultiHeadSelfAttention, self).__init__()
        # Ensure that the model dimension (d_model) is divisible by the number of heads
        assert embed_dim % num_heads == 0, "d_model must be divisible by num_heads"

        # Initialize dimensions
        self.d_model = embed_dim  # Model's dimension
        self.num_heads = num_heads  # Number of attention heads
        self.d_k = embed_dim // num_heads  # Dimension of each head's key, query, and value

        # Linear layers for transforming inputs
        self.W_q = nn.Linear(embed_dim, embed_dim)  # Query transformation
        self.W_k = nn.Linear(embed_dim, embed_dim)  # Key transformation
        self.W_v = nn.Linear(embed_dim, embed_dim)  # Value transformation
        self.W_o = nn.Linear(embed_dim, embed_dim)  # Output transformation

    def scaled_dot_product(self, Q, K, V, mask=None):
        # Calculate attention scores
        attn_scores = torch.matmul(Q, K.transpose(-2, -1)) / math.sqrt(self.d_k)

        # Apply mask if provided (useful for preventing attention to certain parts like padding)
        if mask is not None:
            attn_scores = attn_scores.masked_fill(mask == 0, float("-inf"))

        # Softmax is applied to obtain attention probabilities
        attn_probs = torch.softmax(attn_scores, dim=-1)

        # Multiply by values to obtain the final output
        return torch.matmul(attn_probs, V)

    def split_heads(self, x):
        # Reshape the input to have num_heads for multi-head attention
        seq_length, batch_size, d_model = x.size()
        return x.view(seq_length, batch_size, self.num_heads, self.d_k).permute(1, 2, 0, 3)

    def combine_heads(self, x):
        # Combine the multiple heads back to original shape
        batch_size, _, seq_length, d_k = x.size()
        return x.permute(2, 0, 1, 3).contiguous().view(seq_length, batch_size, self.d_model)

    def forward(self, x, mask=None):
        # Apply linear transformations and split heads
        Q = self.split_heads(self.W_q(x))
        K = self.split_heads(self.W_k(x))
        V = self.split_heads(self.W_v(x))

        # Perform scaled dot-product attention
        attn_output = self.scaled_dot_product(Q, K, V, mask)

        # Combine heads and apply output transformation
        output = self.W_o(self.combine_heads(attn_output))
        return output
