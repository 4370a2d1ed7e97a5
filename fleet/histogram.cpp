// histogram.cpp: bucket arithmetic and percentiles of the log-linear histogram.
#include "fleet/histogram.hpp"

#include <algorithm>
#include <bit>

namespace streambed::fleet {

Histogram::Histogram() : counts_(std::make_unique<std::array<std::uint64_t, kBuckets>>()) {}

Histogram::Histogram(const Histogram& other)
    : counts_(std::make_unique<std::array<std::uint64_t, kBuckets>>(*other.counts_)),
      count_(other.count_),
      negatives_(other.negatives_),
      max_(other.max_) {}

Histogram& Histogram::operator=(const Histogram& other) {
    if (this != &other) {
        *counts_ = *other.counts_;
        count_ = other.count_;
        negatives_ = other.negatives_;
        max_ = other.max_;
    }
    return *this;
}

std::size_t Histogram::index_of(std::uint64_t value) {
    if (value < 256) return static_cast<std::size_t>(value);
    const int msb = std::min(63 - std::countl_zero(value), kMaxBits);
    if (msb == kMaxBits) return kBuckets - 1;
    const int shift = msb - kSubBits;
    const auto sub = static_cast<std::size_t>((value >> shift) - (std::uint64_t{1} << kSubBits));
    return 256 + static_cast<std::size_t>(msb - 8) * (std::size_t{1} << kSubBits) + sub;
}

std::uint64_t Histogram::lowest_of(std::size_t index) {
    if (index < 256) return index;
    const std::size_t i = index - 256;
    const int msb = static_cast<int>(i >> kSubBits) + 8;
    const std::uint64_t sub =
        (i & ((std::size_t{1} << kSubBits) - 1)) + (std::uint64_t{1} << kSubBits);
    return sub << (msb - kSubBits);
}

std::uint64_t Histogram::highest_of(std::size_t index) {
    if (index < 256) return index;
    const int msb = static_cast<int>((index - 256) >> kSubBits) + 8;
    return lowest_of(index) + (std::uint64_t{1} << (msb - kSubBits)) - 1;
}

void Histogram::record(std::int64_t value) {
    if (value < 0) {
        ++negatives_;
        value = 0;
    }
    ++(*counts_)[index_of(static_cast<std::uint64_t>(value))];
    ++count_;
    max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) (*counts_)[i] += (*other.counts_)[i];
    count_ += other.count_;
    negatives_ += other.negatives_;
    max_ = std::max(max_, other.max_);
}

Histogram Histogram::since(const Histogram& earlier) const {
    Histogram out;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        const std::uint64_t n = (*counts_)[i] - std::min((*counts_)[i], (*earlier.counts_)[i]);
        (*out.counts_)[i] = n;
        out.count_ += n;
        if (n > 0) out.max_ = static_cast<std::int64_t>(highest_of(i));
    }
    out.max_ = std::min(out.max_, max_);
    out.negatives_ = negatives_ - std::min(negatives_, earlier.negatives_);
    return out;
}

std::int64_t Histogram::percentile(double p) const {
    if (count_ == 0) return 0;
    // The rank of the sample at p, 1-based: p=100 is the largest sample, p=0 the smallest.
    const double clamped = std::clamp(p, 0.0, 100.0);
    auto rank = static_cast<std::uint64_t>(clamped / 100.0 * static_cast<double>(count_) + 0.5);
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    if (rank == count_) return max_;  // the largest sample is known exactly
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += (*counts_)[i];
        if (seen >= rank) {
            // The bucket's middle, but never past the largest value recorded.
            const std::uint64_t mid = (lowest_of(i) + highest_of(i)) / 2;
            return std::min(static_cast<std::int64_t>(mid), max_);
        }
    }
    return max_;
}

}  // namespace streambed::fleet
