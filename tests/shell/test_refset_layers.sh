#!/usr/bin/env bash
# The Grad-CAM, localisation and right-for-the-right-reasons cases of
# ../shared/refset-layers (kinds gradcam, gradcam-captum, gradcampp,
# localisation, rrr), scored as its README.md says: maps by relative L2
# within the case's tolerance; pointing game, rank accuracy and top-k equal;
# mass accuracy, attribution localisation and AUC within 1e-6; the RRR
# penalties within max(1e-4, 5 x penalty_f32_vs_f64_rel) relative. Without
# ../shared, the tiny-cnn cases and the stored maps of testdata/refset-layers
# (LRP_REFSET_SUBSET=1 uses them even when ../shared exists).
. "$(dirname "$0")/lib.sh"

S=$(shared_dir)
if [ -n "$S" ] && [ -d "$S/refset-layers" ] && [ -z "${LRP_REFSET_SUBSET:-}" ]; then
    D="$S/refset-layers"
else
    echo "SKIP ../shared/refset-layers is absent: scoring the subset in testdata/refset-layers"
    D="$TESTDATA/refset-layers"
fi

perl -MJSON::PP -e '
    use strict; use warnings;
    my ($lrp, $dir, $work) = @ARGV;
    local $/;
    open my $f, "<", "$dir/cases.json" or die "$dir/cases.json: $!";
    my $cases = JSON::PP->new->decode(<$f>);
    close $f;
    $/ = "\n";

    sub npy {
        my ($p) = @_;
        local $/;
        open my $h, "<", $p or die "$p: $!"; binmode $h; my $t = <$h>; close $h;
        substr($t, 0, 6) eq "\x93NUMPY" or die "$p: not npy";
        my $hl = unpack("v", substr($t, 8, 2));
        my $hdr = substr($t, 10, $hl);
        my ($shape) = $hdr =~ /\((.*?)\)/;
        $shape =~ s/\s//g; $shape =~ s/,$//;
        my @v = $hdr =~ /<f8/ ? unpack("d<*", substr($t, 10 + $hl)) : unpack("f<*", substr($t, 10 + $hl));
        return ($shape, \@v);
    }
    sub rel_l2 {
        my ($x, $g) = @_;
        return 9e9 if @$x != @$g;
        my ($d, $n) = (0, 0);
        for my $i (0 .. $#$g) { $d += ($x->[$i] - $g->[$i]) ** 2; $n += $g->[$i] ** 2 }
        return $n > 0 ? sqrt($d / $n) : sqrt($d);
    }
    sub run_json {
        my @cmd = @_;
        open my $p, "-|", @cmd or die "@cmd: $!";
        my @objs = map { JSON::PP->new->decode($_) } grep { /^\{/ } <$p>;
        close $p;
        return ($? >> 8, \@objs);
    }

    my (%n, %fail, %worst, %worst_id);
    my $bad = 0;
    my $note = sub {
        my ($kind, $id, $ok, $score, $what) = @_;
        $n{$kind}++;
        if ($ok) { print "ok $kind $id ($what)\n" }
        else { $fail{$kind}++; $bad++; print "FAIL $kind $id: $what\n" }
        if (!defined $worst{$kind} || $score > $worst{$kind}) { $worst{$kind} = $score; $worst_id{$kind} = "$id ($what)" }
    };
    for my $c (@$cases) {
        my $kind = $c->{kind};
        next unless $kind =~ /^(gradcam|gradcam-captum|gradcampp|localisation|rrr)$/;
        next unless $kind eq "localisation" || -f "$dir/$c->{model}";
        if ($kind =~ /^gradcam/) {
            my $id = "$c->{model} $c->{image} $c->{node}";
            my $out = "$work/cam.npy";
            unlink $out;
            my @cmd = ($lrp, "explain", "$dir/$c->{model}", "$dir/$c->{input}", "-q",
                       "--attributor", $kind eq "gradcampp" ? "grad-cam++" : "grad-cam", "--layer", $c->{node},
                       "--cam-convention", $c->{convention}, "--target", $c->{target}, "-r", $out);
            system(@cmd);
            if ($? != 0 || !-f $out) { $note->($kind, $id, 0, 9e9, "lrp exit " . ($? >> 8)); next }
            my ($shape, $x) = npy($out);
            my ($gshape, $g) = npy("$dir/$c->{golden}");
            my $e = rel_l2($x, $g);
            my $tol = $c->{tolerance} > 1e-4 ? $c->{tolerance} : 1e-4;
            $note->($kind, $id, $shape eq $gshape && $e <= $tol, $e / $tol,
                    sprintf("shape (%s) vs (%s), rel L2 %.3g, tolerance %.3g", $shape, $gshape, $e, $tol));
        } elsif ($kind eq "localisation") {
            my $id = "pair $c->{pair} $c->{attribution}";
            for my $set ("plain", "plain_abs") {
                my $want = $c->{$set};
                my %got;
                for my $k (1000, 100) {
                    my @cmd = ($lrp, "eval", "--no-model", "$dir/$c->{attribution}", "--json", "--mask",
                               "$dir/$c->{mask}", "--top-k", $k, $set eq "plain_abs" ? ("--abs") : ());
                    my ($rc, $objs) = run_json(@cmd);
                    my ($item) = grep { exists $_->{input} } @$objs;
                    if ($rc != 0 || !$item || $item->{status} ne "ok") { %got = (); last }
                    $got{"top_k_intersection_k$k"} = $item->{top_k_intersection};
                    $got{$_} = $item->{$_} for qw(pointing_game relevance_mass_accuracy relevance_rank_accuracy
                                                 attribution_localisation auc);
                }
                if (!%got) { $note->($kind, "$id $set", 0, 9e9, "lrp eval failed"); next }
                my ($ok, $worst, @why) = (1, 0);
                for my $m (sort keys %$want) {
                    my ($w, $g) = ($want->{$m}, $got{$m});
                    my $exact = $m =~ /pointing|rank|top_k/;
                    my $good;
                    if (!defined $w || !defined $g) { $good = !defined $w && !defined $g; push @why, "$m null" if !$good }
                    else {
                        my $d = abs($w - $g);
                        $good = $exact ? sprintf("%.9g", $w) eq sprintf("%.9g", $g) : $d <= 1e-6;
                        $worst = $d if !$exact && $d > $worst;
                        push @why, sprintf("%s %.9g vs %.9g", $m, $g, $w) if !$good;
                    }
                    $ok &&= $good;
                }
                $note->($kind, "$id $set", $ok, $worst / 1e-6,
                        $ok ? sprintf("largest difference %.2g", $worst) : join("; ", @why));
            }
        } else {
            my $id = "$c->{model} $c->{image} $c->{mask}";
            my @cmd = ($lrp, "eval", "$dir/$c->{model}", "$dir/$c->{input}", "--json", "-a", "random",
                       "--mask", "$dir/$c->{mask}");
            my ($rc, $objs) = run_json(@cmd);
            my ($item) = grep { exists $_->{input} } @$objs;
            if ($rc != 0 || !$item || $item->{status} ne "ok") { $note->($kind, $id, 0, 9e9, "lrp eval exit $rc"); next }
            my $tol = 5 * $c->{penalty_f32_vs_f64_rel};
            $tol = 1e-4 if $tol < 1e-4;
            my $e1 = abs($item->{rrr_penalty} - $c->{penalty}) / abs($c->{penalty});
            my $e2 = abs($item->{rrr_penalty_complement} - $c->{penalty_complement}) / abs($c->{penalty_complement});
            my $e = $e1 > $e2 ? $e1 : $e2;
            $note->($kind, $id, $e <= $tol, $e / $tol,
                    sprintf("penalty %.7g vs %.7g, complement %.7g vs %.7g, relative %.2g, tolerance %.2g",
                            $item->{rrr_penalty}, $c->{penalty}, $item->{rrr_penalty_complement},
                            $c->{penalty_complement}, $e, $tol));
        }
    }
    for my $k (sort keys %n) {
        printf "refset-layers %s: %d/%d passed, worst %.3g of the tolerance: %s\n", $k, $n{$k} - ($fail{$k} // 0),
            $n{$k}, $worst{$k}, $worst_id{$k};
    }
    exit($bad ? 1 : 0);
' "$LRP" "$D" "$WORK"
if [ $? -eq 0 ]; then ok "refset-layers cases"; else not_ok "refset-layers cases"; fi
finish
