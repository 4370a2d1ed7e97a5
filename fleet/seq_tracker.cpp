// seq_tracker.cpp: holes opened by jumps, filled by late arrivals, counted at the end.
#include "fleet/seq_tracker.hpp"

namespace streambed::fleet {

bool SeqTracker::receive(std::uint64_t seq, HoleKind skip_kind) {
    if (last_ == 0) {
        first_ = last_ = seq;
        distinct_ = 1;
        return true;
    }
    if (seq > last_) {
        if (seq > last_ + 1) {
            if (holes_.size() < kMaxHoles)
                holes_.push_back({last_ + 1, seq - 1, skip_kind});
            else
                overflow_gaps_ += seq - 1 - last_;
        }
        last_ = seq;
        ++distinct_;
        return true;
    }
    if (seq < first_) {  // before the first one received: it opens the span further back
        if (seq + 1 < first_ && holes_.size() < kMaxHoles)
            holes_.push_back({seq + 1, first_ - 1, skip_kind});
        first_ = seq;
        ++distinct_;
        return true;
    }
    if (fill(seq)) {
        ++distinct_;
        return true;
    }
    ++duplicates_;
    return false;
}

bool SeqTracker::fill(std::uint64_t seq) {
    // Newest holes first: a late arrival is most likely to fill a recent one.
    for (auto it = holes_.rbegin(); it != holes_.rend(); ++it) {
        if (seq < it->lo || seq > it->hi) continue;
        if (it->lo == it->hi) {
            holes_.erase(std::next(it).base());
        } else if (seq == it->lo) {
            ++it->lo;
        } else if (seq == it->hi) {
            --it->hi;
        } else {
            const Hole upper{seq + 1, it->hi, it->kind};
            it->hi = seq - 1;
            holes_.insert(it.base(), upper);
        }
        return true;
    }
    return false;
}

SeqCounts SeqTracker::counts(std::uint64_t end) const {
    SeqCounts c;
    if (last_ == 0) return c;
    c.distinct = distinct_;
    c.duplicates = duplicates_;
    c.gaps = overflow_gaps_;
    std::uint64_t unowed = 0;
    for (const auto& h : holes_) {
        const std::uint64_t n = h.hi - h.lo + 1;
        switch (h.kind) {
            case HoleKind::gap:
                c.gaps += n;
                break;
            case HoleKind::conflated:
                c.conflated += n;
                break;
            case HoleKind::declared:
                c.declared += n;
                break;
            case HoleKind::unowed:
                unowed += n;
                break;
        }
    }
    if (end > last_) c.gaps += end - last_;
    c.expected = (end > last_ ? end : last_) - first_ + 1 - unowed;
    return c;
}

}  // namespace streambed::fleet
