// The PNG pictures of the command line: confusion heat map, first-layer weights, one input image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <mlp/network.hpp>

#include "png.hpp"

namespace mlp::cli {

// confusion[true][predicted] as a heat map: rows are true classes, columns predicted ones, each
// cell coloured by its share of its row and labelled with its count. The colour runs from white
// (0%) to dark blue (100%) on a square-root scale, so that a few mistakes in a row (1% is a tenth
// of the way) still show next to the diagonal's 90%.
Canvas confusion_picture(const std::vector<std::vector<std::size_t>>& confusion,
                         const std::vector<std::string>& class_names, const std::string& title);

// One tile per first-layer unit holding its n[0] incoming weights W[1](j, :): side x side when
// n[0] is a square (28x28 for MNIST), otherwise a strip one pixel high. Each tile is scaled by its
// own largest |w| (blue -max, white 0, red +max), so every unit's pattern shows, whatever its size.
Canvas weights_picture(const Network<float>& net, int scale);

// A square grey-scale image (0 black, 255 white), each pixel drawn as scale x scale.
Canvas image_picture(const std::uint8_t* pixels, int side, int scale);

}  // namespace mlp::cli
