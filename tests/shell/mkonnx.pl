#!/usr/bin/env perl
# Writes a tiny ONNX model (protobuf wire format by hand) for the shell tests:
#   perl mkonnx.pl OUT.onnx SPEC...
# SPEC is one of
#   in=NAME:D1,D2,...      a float graph input; a number is a dim_value, a
#                          name a dim_param, '?' a dimension with neither
#   out=NAME:D1,D2,...     a float graph output
#   init=NAME:D1,..:V1,..  a float initializer (raw data)
#   node=OP:IN1,IN2:OUT    a node of the default domain (named after OUT)
# The model has IR version 7 and opset 13.
use strict;
use warnings;

sub varint {
    my ($v) = @_;
    my $s = '';
    while ($v >= 0x80) { $s .= chr(($v & 0x7f) | 0x80); $v >>= 7; }
    return $s . chr($v);
}
sub key { my ($field, $wire) = @_; return varint(($field << 3) | $wire); }
sub vint { my ($f, $v) = @_; return key($f, 0) . varint($v); }
sub bytes { my ($f, $b) = @_; return key($f, 2) . varint(length $b) . $b; }

sub value_info {
    my ($name, $dims) = @_;
    my $shape = '';
    for my $d (split /,/, $dims) {
        my $dim = $d eq '?' ? '' : $d =~ /^\d+$/ ? vint(1, $d) : bytes(2, $d);
        $shape .= bytes(1, $dim);
    }
    my $tensor_type = vint(1, 1) . bytes(2, $shape);
    return bytes(1, $name) . bytes(2, bytes(1, $tensor_type));
}

my $out = shift @ARGV or die "usage: mkonnx.pl OUT.onnx SPEC...\n";
my ($nodes, $inits, $inputs, $outputs) = ('', '', '', '');
for my $spec (@ARGV) {
    if ($spec =~ /^in=([^:]+):(.*)$/) {
        $inputs .= bytes(11, value_info($1, $2));
    } elsif ($spec =~ /^out=([^:]+):(.*)$/) {
        $outputs .= bytes(12, value_info($1, $2));
    } elsif ($spec =~ /^init=([^:]+):([^:]*):(.*)$/) {
        my ($name, $dims, $vals) = ($1, $2, $3);
        my $t = join('', map { vint(1, $_) } split /,/, $dims) . vint(2, 1) . bytes(8, $name)
            . bytes(9, pack('f<*', split /,/, $vals));
        $inits .= bytes(5, $t);
    } elsif ($spec =~ /^node=([^:]+):([^:]*):(.+)$/) {
        my ($op, $ins, $o) = ($1, $2, $3);
        my $n = join('', map { bytes(1, $_) } split /,/, $ins) . bytes(2, $o) . bytes(3, $o) . bytes(4, $op);
        $nodes .= bytes(1, $n);
    } else {
        die "mkonnx.pl: bad spec '$spec'\n";
    }
}
my $graph = $nodes . bytes(2, 'g') . $inits . $inputs . $outputs;
my $model = vint(1, 7) . bytes(2, 'lrp-test') . bytes(7, $graph) . bytes(8, bytes(1, '') . vint(2, 13));
open my $fh, '>:raw', $out or die "$out: $!\n";
print $fh $model;
close $fh or die "$out: $!\n";
